#!/usr/bin/env python3
"""Fails if the deterministic core library contains floating-point instructions (x87 or SSE/AVX maths).

The third line of defence against floating point in the core, for compilers that cannot build it with
-mgeneral-regs-only (engine/meson.build): clang 14 refuses every libstdc++ 12 header under that flag,
because the headers declare `long double` overloads (std::abs, std::to_string, ...) and the flag removes
the x87 unit. There the core compiles normally and this script disassembles the result instead.

Integer code may use the vector registers to move and compare bytes (movdqu, pxor, pcmpeqb, ...), so
only instructions that compute on or convert floating-point values are refused: every x87 instruction,
the SSE/AVX scalar and packed float/double arithmetic, comparisons and all conversions (cvt*).
"""
import re
import subprocess
import sys

X87 = re.compile(r"^f[a-z0-9]*$")  # every x87 mnemonic starts with f (fld, fstp, fadd, fnstcw, ...)
SSE_FP = re.compile(
    r"^v?(?:"
    r"(?:add|sub|mul|div|sqrt|min|max|rcp|rsqrt|round|hadd|hsub|addsub|dp|"
    r"f(?:n?m(?:add|sub)|maddsub|msubadd)\d*)(?:ss|sd|ps|pd)"
    r"|cvt\w*"
    r"|u?comis[sd]"
    r"|cmp\w*(?:ss|sd|ps|pd)"
    r")$"
)


def main() -> int:
    lib, out = sys.argv[1], sys.argv[2]
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib], capture_output=True, text=True, check=True)
    bad, member, function = [], "", ""
    for line in dis.stdout.splitlines():
        if line.startswith("In archive"):
            continue
        m = re.match(r"^(\S+):\s+file format", line)
        if m:
            member = m.group(1)
            continue
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            function = m.group(1)
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+(?:(?:rex\S*|lock|rep\S*|notrack|bnd|data16|addr32|cs|ds)\s+)*([a-z][a-z0-9.]*)\b", line)
        if m and (X87.match(m.group(1)) or SSE_FP.match(m.group(1))):
            bad.append(f"{member}: {function}: {line.strip()}")
    if bad:
        print(f"{lib} contains floating-point instructions, which the deterministic core must not use:",
              file=sys.stderr)
        for b in bad[:20]:
            print("  " + b, file=sys.stderr)
        if len(bad) > 20:
            print(f"  ... and {len(bad) - 20} more", file=sys.stderr)
        return 1
    open(out, "w").write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
