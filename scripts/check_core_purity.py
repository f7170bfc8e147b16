#!/usr/bin/env python3
"""Refuses I/O, clocks, randomness, floating point and outside libraries in the deterministic core.

The state transition function must give the same result on every machine, so the sequencer, every
challenger and the L1 referee agree on each root. Run by the build before the core compiles.
"""
import argparse
import pathlib
import re
import sys

FORBIDDEN_INCLUDES = {
    "chrono", "ctime", "time.h", "sys/time.h", "iostream", "fstream", "sstream", "cstdio", "stdio.h",
    "thread", "mutex", "random", "filesystem", "unistd.h", "fcntl.h", "sqlite3.h", "zstd.h", "cmath",
    "math.h", "cfloat", "float.h", "unordered_map", "unordered_set", "atomic", "future",
}
FORBIDDEN_INCLUDE_PREFIXES = ("boost/", "nlohmann/", "sys/", "netinet/", "arpa/")
FORBIDDEN_TOKENS = [
    (r"\bfloat\b", "floating point"),
    (r"\bdouble\b", "floating point"),
    (r"\bstd::(chrono|rand|srand|random_device|mt19937|thread|this_thread)\b", "clock, randomness or threads"),
    (r"\b(time|clock|rand|srand|getenv|fopen|printf|puts)\s*\(", "clock, environment or I/O"),
    (r"\bstd::(cout|cerr|clog|ifstream|ofstream|fstream)\b", "I/O"),
]
FLOAT_LITERAL = re.compile(r"(?<![\w.'])(\d+\.\d*|\.\d+)([eE][+-]?\d+)?[fFlL]?(?![\w.'])")


def strip_comments_and_strings(text: str) -> str:
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check_file(path: pathlib.Path) -> list:
    problems = []
    raw = path.read_text()
    for m in re.finditer(r'#\s*include\s*[<"]([^>"]+)[>"]', raw):
        name = m.group(1)
        if name in FORBIDDEN_INCLUDES or name.startswith(FORBIDDEN_INCLUDE_PREFIXES):
            problems.append(f"{path}: includes <{name}>, which the deterministic core must not use")
    code = strip_comments_and_strings(raw)
    code = re.sub(r"#\s*include[^\n]*", "", code)
    for pattern, why in FORBIDDEN_TOKENS:
        for m in re.finditer(pattern, code):
            line = code.count("\n", 0, m.start()) + 1
            problems.append(f"{path}:{line}: '{m.group(0).strip()}' ({why}) is not allowed in the core")
    for m in FLOAT_LITERAL.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        problems.append(f"{path}:{line}: floating-point literal '{m.group(0)}' is not allowed in the core")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    root = pathlib.Path(args.root)
    problems, count = [], 0
    for d in args.dirs:
        for path in sorted((root / "engine" / d).rglob("*")):
            if path.suffix in (".h", ".hpp", ".cpp"):
                count += 1
                problems += check_file(path)
    if problems:
        print("deterministic core purity check failed:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    pathlib.Path(args.out).write_text(f"// {count} core files checked: no I/O, clock, randomness or floating point\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
