#!/usr/bin/env python3
"""Fails if the deterministic core library calls anything that does I/O, reads a clock or randomness."""
import re
import subprocess
import sys

FORBIDDEN = re.compile(
    r"^(_?_?(f?open(64)?|fopen|fdopen|fread|fwrite|fprintf|printf|puts|read|write|pread|pwrite|close|"
    r"socket|connect|send|recv|time|clock|clock_gettime|gettimeofday|getrandom|rand|random|srand|getenv|"
    r"sqlite3_\w+|ZSTD_\w+))(@.*)?$"
    r"|.*chrono.*(system_clock|steady_clock).*now.*"
    r"|.*random_device.*"
    r"|^_ZNSo.*|^_ZSt4cout.*|^_ZSt4cerr.*"  # std::ostream and the standard streams
)


def main() -> int:
    lib, out = sys.argv[1], sys.argv[2]
    nm = subprocess.run(["nm", "-u", "--format=posix", lib], capture_output=True, text=True, check=True)
    bad = sorted({line.split()[0] for line in nm.stdout.splitlines()
                  if line.strip() and not line.endswith(":") and FORBIDDEN.match(line.split()[0])})
    if bad:
        print(f"{lib} uses symbols the deterministic core must not: " + ", ".join(bad), file=sys.stderr)
        return 1
    open(out, "w").write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
