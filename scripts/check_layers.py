#!/usr/bin/env python3
"""Checks the layering of the sources: a lower layer never includes a higher one, and no include cycle.

The layers, lowest first (docs/architecture.md):

  0  core         engine/core, engine/state, engine/stf, engine/risk (the deterministic core)
  1  market       engine/market          1  common   engine/common
  2  net          engine/net (HTTP and WebSocket plumbing)
  3  bridge       the L1
  4  fraudproof   the game, proofs and the honest agents
  5  sim          fraudproof/sim: the simulator and the dishonest strategies; only cli and tests use it
  6  node         engine/node
  7  api          engine/api (the rollup's API)
  8  cli          engine/cli (the optrollup executable)
     tests/ and examples/ may include anything; nothing else may include them.

A file may include files of its own layer and of lower ones. Layers of one rank (market, common) may
include each other, but the layers' include graph must have no cycle, and neither may the files'.
Every C++ file under engine/, bridge/ and fraudproof/ must belong to a layer: a new directory is placed
here on purpose, not by accident.

Usage: check_layers.py --root DIR      checks the tree (exit 1 and one line per violation)
       check_layers.py --self-test     checks the checker on small trees with deliberate violations
"""
import argparse
import pathlib
import re
import sys
import tempfile

# (directory prefix, layer, rank); the longest matching prefix wins.
LAYERS = [
    ("engine/core/", "core", 0),
    ("engine/state/", "core", 0),
    ("engine/stf/", "core", 0),
    ("engine/risk/", "core", 0),
    ("engine/market/", "market", 1),
    ("engine/common/", "common", 1),
    ("engine/net/", "net", 2),
    ("bridge/", "bridge", 3),
    ("fraudproof/", "fraudproof", 4),
    ("fraudproof/sim/", "sim", 5),
    ("engine/node/", "node", 6),
    ("engine/api/", "api", 7),
    ("engine/cli/", "cli", 8),
    ("tests/", "tests", 100),
    ("examples/", "tests", 100),
]
# Files that belong to another layer than their directory's, because of what they are (each names why).
# A listed file that no longer exists is an error, so the list never goes stale.
PLACED: dict = {}
# Layers only some others may include, whatever their rank.
RESTRICTED = {"sim": {"sim", "cli", "tests"}}
SCANNED = ("engine/", "bridge/", "fraudproof/", "tests/", "examples/")
EXTENSIONS = (".h", ".hpp", ".cpp", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
RANK = {layer: rank for _, layer, rank in LAYERS}


def layer_of(rel: str):
    if rel in PLACED:
        return PLACED[rel]
    best = None
    for prefix, layer, _ in LAYERS:
        if rel.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return best[1] if best else None


def sources(root: pathlib.Path):
    for top in SCANNED:
        base = root / top
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if p.suffix in EXTENSIONS and p.is_file() and "build" not in p.relative_to(root).parts[:1]:
                yield p.relative_to(root).as_posix()


def find_cycle(graph):
    """One cycle of the directed graph (a list of nodes, first repeated last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in graph}
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
                continue
            if nxt not in colour:
                continue
            if colour[nxt] == GREY:
                return path[path.index(nxt):] + [nxt]
            if colour[nxt] == WHITE:
                colour[nxt] = GREY
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def check(root: pathlib.Path):
    errors = []
    for rel in sorted(PLACED):
        if not (root / rel).is_file():
            errors.append(f"{rel}: listed in PLACED (scripts/check_layers.py) but does not exist; remove the entry")
    files = list(sources(root))
    file_graph = {f: set() for f in files}
    layer_graph = {}
    for rel in files:
        src_layer = layer_of(rel)
        if src_layer is None:
            errors.append(f"{rel}: in no layer (add its directory to LAYERS in scripts/check_layers.py)")
            continue
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if not (root / inc).is_file():
                continue  # a system or generated header, or one relative to the file (not the project's)
            dst_layer = layer_of(inc)
            if dst_layer is None:
                errors.append(f"{rel}:{line}: includes {inc}, which is in no layer")
                continue
            file_graph[rel].add(inc)
            if dst_layer == src_layer:
                continue
            layer_graph.setdefault(src_layer, set()).add(dst_layer)
            layer_graph.setdefault(dst_layer, set())
            if src_layer == "tests":
                continue
            if dst_layer in RESTRICTED and src_layer not in RESTRICTED[dst_layer]:
                errors.append(f"{rel}:{line}: {src_layer} includes {inc} ({dst_layer}), which only "
                              f"{', '.join(sorted(RESTRICTED[dst_layer]))} may use")
            elif RANK[dst_layer] > RANK[src_layer]:
                errors.append(f"{rel}:{line}: {src_layer} (rank {RANK[src_layer]}) includes {inc} "
                              f"({dst_layer}, rank {RANK[dst_layer]}): a lower layer includes a higher one")
    cycle = find_cycle({k: v for k, v in layer_graph.items() if k != "tests"})
    if cycle:
        errors.append("layer include cycle: " + " -> ".join(cycle))
    cycle = find_cycle(file_graph)
    if cycle:
        errors.append("file include cycle: " + " -> ".join(cycle))
    return errors, len(files)


def self_test() -> int:
    """Each case is a small tree; the checker must refuse exactly the broken ones."""
    header = "#pragma once\n"
    cases = {
        "clean": ({
            "engine/core/a.h": header,
            "engine/net/http.h": header + '#include "engine/core/a.h"\n',
            "bridge/chain.h": header + '#include "engine/net/http.h"\n',
            "fraudproof/sim/sim.h": header + '#include "bridge/chain.h"\n',
            "engine/cli/main.cpp": '#include "fraudproof/sim/sim.h"\n#include "bridge/chain.h"\n',
            "tests/x_test.cpp": '#include "engine/cli/main.cpp"\n',
        }, None),
        "lower includes higher": ({
            "engine/net/http.h": header + '#include "bridge/chain.h"\n',
            "bridge/chain.h": header,
        }, "a lower layer includes a higher one"),
        "core includes the node": ({
            "engine/stf/apply.cpp": '#include "engine/node/node.h"\n',
            "engine/node/node.h": header,
        }, "a lower layer includes a higher one"),
        "node uses the simulator": ({
            "engine/node/node.cpp": '#include "fraudproof/sim/sim.h"\n',
            "fraudproof/sim/sim.h": header,
        }, "which only cli, sim, tests may use"),
        "production includes a test": ({
            "bridge/chain.cpp": '#include "tests/fixture.h"\n',
            "tests/fixture.h": header,
        }, "a lower layer includes a higher one"),
        "same-rank cycle": ({
            "engine/market/book.h": header + '#include "engine/common/args.h"\n',
            "engine/common/args.h": header + '#include "engine/market/book.h"\n',
        }, "include cycle"),
        "file cycle in one layer": ({
            "bridge/a.h": header + '#include "bridge/b.h"\n',
            "bridge/b.h": header + '#include "bridge/a.h"\n',
        }, "file include cycle"),
        "unplaced directory": ({
            "engine/extra/x.cpp": "int x;\n",
        }, "in no layer"),
    }
    failures = 0
    for name, (tree, expect) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            root = pathlib.Path(d)
            for rel, text in tree.items():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text)
            # The real PLACED entries name files of the real tree; a fixture has none of them.
            saved = dict(PLACED)
            PLACED.clear()
            try:
                errors, _ = check(root)
            finally:
                PLACED.update(saved)
        ok = (not errors) if expect is None else any(expect in e for e in errors)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {errors if errors else 'no violation'}")
        failures += not ok
    # A stale PLACED entry is refused too.
    with tempfile.TemporaryDirectory() as d:
        errors, _ = check(pathlib.Path(d))
        ok = not PLACED or any("does not exist" in e for e in errors)
        print(f"{'ok  ' if ok else 'FAIL'} stale placement: {errors if errors else 'no violation'}")
        failures += not ok
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=pathlib.Path, help="the source tree to check")
    ap.add_argument("--self-test", action="store_true", help="check the checker on trees with violations")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if args.root is None:
        ap.error("--root or --self-test")
    errors, n = check(args.root)
    for e in errors:
        print(e)
    if errors:
        print(f"check_layers: {len(errors)} violation(s) in {n} files")
        return 1
    print(f"check_layers: {n} files, no layer violation, no include cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
