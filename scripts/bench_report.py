#!/usr/bin/env python3
"""Writes docs/performance.md from the output of every meson benchmark (scripts/bench).

Benchmarks print `name: value unit (note)` lines. Each target of the issues is listed below with the bound
it is measured against: either a fixed figure or another figure of the same run (the machine's own
limit: secp256k1 recovery, keccak, SQLite fsync, a bare Beast server), and what limits the figure.
"""
import datetime
import os
import platform
import re
import subprocess
import sys

LINE = re.compile(r"^([a-z0-9_]+): ([-0-9.e+]+) ([^(\n]*?)(?: \((.*)\))?$")


def parse(text):
    figures = {}
    for line in text.splitlines():
        line = line.strip()
        m = LINE.match(line)
        if m:
            figures[m.group(1)] = (float(m.group(2)), m.group(3).strip(), m.group(4) or "")
    return figures


# name, kind, bound, what limits it
#   kind "min": the figure must reach the bound (throughput); "max": must stay below it (size, latency)
#   bound: a number, or the name of another figure, optionally scaled: ("ecrecover_per_s", 0.5)
TARGETS = [
    ("smt_hashes_per_updated_leaf", "max", 29.9,
     "hashes per updated leaf, 10k updates into a 1M-leaf tree; bound 1.5 x log2(leaves). Each dirty "
     "internal node is hashed once; the top of the tree is shared by the whole batch."),
    ("stf_trades_per_s_fresh_sigs", "min", ("ecrecover_per_s", 0.5, 0.8),
     "two secp256k1 recoveries per trade bound it; the rest is EIP-712 hashing, SMT reads and writes, the "
     "leaf codec, margin and the batch's root (once per batch, as the node takes it; "
     "..._root_per_step shows the cost of a root after every step: about 76 keccak256 per trade)."),
    ("stf_trades_per_s_cached_maker_sigs", "min", ("ecrecover_per_s", 1.0, 0.8),
     "one recovery per trade; the same fixed work as above weighs twice as much here. What is left besides "
     "the recovery is mostly keccak: about 19 permutations per trade (its share of the batch's root, six "
     "leaf keys, the taker's EIP-712 hash), then tree walks to insert the two fill leaves, Black-Scholes "
     "marks and the leaf codec. Both the figure and the bound are timed in thread CPU time."),
    ("stf_witness_bytes_trade_64x64_positions", "max", 16384,
     "two account leaves of 64 positions (37 bytes each) and their Merkle paths."),
    ("stf_stateless_reexec_us_trade_64x64_positions", "max", 1000,
     "multiproof verification plus one apply() with 128 Black-Scholes marks."),
    ("fp_proof_bytes_worst", "max", 16384, "the largest one-step proof of the corpus."),
    ("fp_referee_us_worst", "max", 1000, "the slowest one-step proof check of the corpus."),
    ("fp_challenger_reexec_steps_per_s", "min", ("ecrecover_per_s", 0.5, 0.8),
     "re-executing a posted 10k-trade batch: two recoveries per trade."),
    ("l1_bytes_per_trade", "max", 160, "zstd over framed trades; each trade carries two 65-byte signatures."),
    ("market_stream_ops_per_s", "min", ("market_stream_bound_ops_per_s", 1.0, 1.0),
     "2M seeded limit orders (prices 950-1050, quantities 1-100, 1,000 buying and 1,000 selling accounts), "
     "beside a std::map price-level book on the same stream in the same run. Against liquibook, run side "
     "by side outside the repository on the same stream: 0.58x (target 1.5x); placing an order (expiry "
     "queue, duplicate index, level upkeep) and the depth deltas cost what liquibook does not do."),
    ("market_stream_cancels_ops_per_s", "min", ("market_stream_cancels_bound_ops_per_s", 1.0, 1.0),
     "the same stream with 10% of operations cancelling an earlier order. Against liquibook (whose cancel "
     "scans its price level), side by side outside the repository: 33.9x (target 20x)."),
    ("node_post_orders_per_s", "min", 20_000,
     "POST /v1/orders from a load generator in its own process: HTTP parsing, one recovery per order on the "
     "io threads, the sequencer thread, and a committer that writes every waiting command group in one "
     "fsync; recover_bound_per_s (every hardware thread) is the machine's limit of this run."),
    ("node_post_orders_p99_ms", "max", 5.0, "group commit waits for an fsync (see sqlite_commit_rows_per_s_1_per_tx)."),
    ("node_get_orderbook_req_per_s", "min", ("node_bound_beast_hello_req_per_s", 1.0, 0.6),
     "a bare Beast hello-world server (tests/api/beast_hello.cpp, its own process) under the same load in "
     "the same run; the book comes from the read model's snapshot, which admission never blocks."),
    ("node_rss_mb", "max", 2048, "1M accounts (two state trees: the live one and the one at the last final "
     "batch for withdrawal proofs), 100k resting orders, the batch being built."),
]
BOUNDS = ["keccak256_64B_per_s", "ecrecover_per_s", "ecdsa_sign_per_s", "sqlite_group_commit_rows_per_s",
          "sqlite_commit_rows_per_s_1_per_tx", "http_hello_get_req_per_s", "http_post_req_per_s",
          "beast_hello_get_req_per_s", "node_bound_beast_hello_req_per_s", "recover_bound_per_s", "market_stream_bound_ops_per_s",
          "market_stream_cancels_bound_ops_per_s"]


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) // (1024 * 1024)} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} x {cpu}{mem}, {platform.system()} {platform.release()}"


def main():
    log, out = sys.argv[1], sys.argv[2]
    text = open(log).read()
    figs = parse(text)
    rows = []
    for name, kind, bound, why in TARGETS:
        if name not in figs:
            rows.append(f"| `{name}` | not measured | | | | {why} |")
            continue
        value, unit, _ = figs[name]
        ratio_target = None
        if isinstance(bound, tuple):
            bname, scale, ratio_target = bound
            if bname not in figs:
                rows.append(f"| `{name}` | {fmt(value)} {unit} | `{bname}` not measured | | | {why} |")
                continue
            b = figs[bname][0] * scale
            bound_text = f"{fmt(b)} (`{bname}`" + (f" x {scale}" if scale != 1.0 else "") + ")"
        else:
            b = float(bound)
            bound_text = fmt(b)
        ratio = value / b if b else 0
        if ratio_target is not None:
            ok = ratio >= ratio_target
            status = f"{'met' if ok else 'MISSED'} (target ratio >= {ratio_target})"
        else:
            ok = value >= b if kind == "min" else value <= b
            status = "met" if ok else "MISSED"
        rows.append(f"| `{name}` | {fmt(value)} {unit} | {bound_text} | {ratio:.2f} | {status} | {why} |")
    bounds = [f"| `{n}` | {fmt(figs[n][0])} {figs[n][1]} | {figs[n][2]} |" for n in BOUNDS if n in figs]
    others = [f"| `{n}` | {fmt(v)} {u} | {note} |" for n, (v, u, note) in sorted(figs.items())
              if n not in BOUNDS and n not in {t[0] for t in TARGETS}]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    doc = f"""# Performance

Written by `scripts/bench` (release build, every meson benchmark run one at a time) on
{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, commit {rev}, on {machine()}.
Each figure stands beside the bound it is measured against — a target from the issues, or a limit of this
machine measured in the same run — with the ratio.

## Targets

| figure | measured | bound | ratio | | what limits it |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

## Bounds of this machine (same run)

| figure | measured | note |
| --- | --- | --- |
{chr(10).join(bounds)}

## Every other figure

| figure | measured | note |
| --- | --- | --- |
{chr(10).join(others)}
"""
    open(out, "w").write(doc)


if __name__ == "__main__":
    main()
