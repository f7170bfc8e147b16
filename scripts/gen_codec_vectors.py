#!/usr/bin/env python3
"""Writes tests/data/codec_vectors.json: golden encodings of every transaction type and of a batch.

This is a second, independent implementation of the wire format of docs/encoding.md (big-endian
fixed-width fields), so the C++ codec is checked against the spec rather than against itself.
Signatures are opaque 65-byte values here (taken from tests/data/ethereum.json); the codec does not
verify them.
"""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
eth = json.loads((root / "tests/data/ethereum.json").read_text())
ex = eth["eip712"]["examples"]
SIG_A = ex["Order"]["signature"]
SIG_B = ex["Cancel"]["signature"]
SIG_C = ex["PriceReport"]["signature"]
ADDR0 = eth["devKeys"][0]["address"]
ADDR1 = eth["devKeys"][1]["address"]


def u8(v): return f"{v:02x}"
def u32(v): return f"{v:08x}"
def u64(v): return f"{v:016x}"
def boolean(v): return "01" if v else "00"
def raw(h): return h[2:].lower()


def order(o):
    return (raw(o["account"]) + u64(o["instrument"]) + boolean(o["isBuy"]) + u64(o["quantity"]) +
            u64(o["limitPrice"]) + u64(o["maxFee"]) + u64(o["nonce"]) + u64(o["expiry"]) + u8(o["flags"]))


maker = {"account": ADDR0, "instrument": 7, "isBuy": False, "quantity": 2000000, "limitPrice": 125250000,
         "maxFee": 500000, "nonce": 1, "expiry": 1798675200, "flags": 1}
taker = {"account": ADDR1, "instrument": 7, "isBuy": True, "quantity": 1500000, "limitPrice": 130000000,
         "maxFee": 500000, "nonce": 42, "expiry": 1798675200, "flags": 9}

vectors = []


def add(name, tag, fields, body):
    vectors.append({"name": name, "type": tag, "fields": fields, "hex": "0x" + u8(tag) + body})


add("deposit", 1, {"inboxIndex": 3, "l1Sender": ADDR0, "recipient": ADDR1, "amount": 1000000000},
    u64(3) + raw(ADDR0) + raw(ADDR1) + u64(1000000000))
add("trade", 2, {"maker": {"order": maker, "signature": SIG_A}, "taker": {"order": taker, "signature": SIG_B},
                 "quantity": 1500000, "price": 125250000},
    order(maker) + raw(SIG_A) + order(taker) + raw(SIG_B) + u64(1500000) + u64(125250000))
oh = ex["Cancel"]["message"]["orderHash"]
add("cancel", 3, {"account": ADDR0, "orderHash": oh, "signature": SIG_B}, raw(ADDR0) + raw(oh) + raw(SIG_B))
add("price_report", 4, {"underlying": 1, "price": 3012450000, "volatility": 650000, "timestamp": 1798670000,
                        "signatures": [SIG_C, SIG_A]},
    u32(1) + u64(3012450000) + u64(650000) + u64(1798670000) + u8(2) + raw(SIG_C) + raw(SIG_A))
add("list_instrument", 5, {"underlying": 2, "strike": 100000000000, "expiry": 1798675200, "isCall": False,
                           "signature": SIG_A},
    u32(2) + u64(100000000000) + u64(1798675200) + boolean(False) + raw(SIG_A))
add("liquidate", 6, {"liquidator": ADDR1, "account": ADDR0, "instrument": 7, "quantity": 500000, "nonce": 4,
                     "signature": SIG_A},
    raw(ADDR1) + raw(ADDR0) + u64(7) + u64(500000) + u64(4) + raw(SIG_A))
add("expire", 7, {"instrument": 7}, u64(7))
add("settle", 8, {"account": ADDR0, "instrument": 7}, raw(ADDR0) + u64(7))
add("withdraw", 9, {"account": ADDR0, "amount": 100000000, "recipient": ADDR1, "nonce": 3, "signature": SIG_A},
    raw(ADDR0) + u64(100000000) + raw(ADDR1) + u64(3) + raw(SIG_A))
add("forced_withdraw", 10, {"inboxIndex": 9, "account": ADDR0, "amount": 5000000}, u64(9) + raw(ADDR0) + u64(5000000))

txs = [v["hex"][2:] for v in vectors if v["name"] in ("expire", "settle")]
batch = "0x" + u32(len(txs)) + "".join(u32(len(t) // 2) + t for t in txs)
out = {"about": "Golden encodings of docs/encoding.md, written by scripts/gen_codec_vectors.py",
       "transactions": vectors, "batch": {"transactions": ["0x" + t for t in txs], "hex": batch}}
(root / "tests/data/codec_vectors.json").write_text(json.dumps(out, indent=2) + "\n")
