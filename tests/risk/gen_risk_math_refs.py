#!/usr/bin/env python3
"""Prints the independent reference values pasted into risk_math_test.cpp (mpmath, 50 digits).

Each value is the exact function rounded to the nearest integer unit (WAD for the math functions,
micro-USDC for Black-Scholes); the Black-Scholes rows also print the double-precision value from
Python's math module as a cross-check of the formula.
"""
import math

import mpmath as mp

mp.mp.dps = 50
WAD = 10**18
I128_MAX = 2**127 - 1


def rnd(v):
    return int(mp.nint(v))


def bs(s, k, vol, t, call):
    """Black-Scholes with r = 0; s, k in micro-USDC, vol with 6 decimals, t in seconds (year = 365 d)."""
    s, k = mp.mpf(s), mp.mpf(k)
    v = mp.mpf(vol) / 10**6 * mp.sqrt(mp.mpf(t) / 31536000)
    d1 = (mp.log(s / k) + v * v / 2) / v
    d2 = d1 - v
    n = mp.ncdf
    return s * n(d1) - k * n(d2) if call else k * n(-d2) - s * n(-d1)


def bs_double(s, k, vol, t, call):
    v = vol / 1e6 * math.sqrt(t / 31536000)
    d1 = (math.log(s / k) + v * v / 2) / v
    d2 = d1 - v
    n = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))
    return s * n(d1) - k * n(d2) if call else k * n(-d2) - s * n(-d1)


def i128(v):
    return f"i128_of({v})" if abs(v) >= 2**63 else f"{v}"


def main():
    print("// ln_wad: round(ln(x / 1e18) * 1e18)")
    for x in [1, 2, 3, 5 * 10**17, 7 * 10**17, WAD - 1, WAD + 1, 2 * WAD, 31415926535897932384,
              10**36, 123456789012345678901234567, I128_MAX]:
        print(f'    {{"{x}", "{rnd(mp.log(mp.mpf(x) / WAD) * WAD)}"}},')
    print("// exp_wad: round(exp(x / 1e18) * 1e18)")
    for x in [1, -1, WAD, -WAD, WAD // 2, 693147180559945309, 10 * WAD, -10 * WAD, 20123456789000000000,
              -42 * WAD, -42130000000000000000, 46 * WAD + WAD // 2]:
        print(f'    {{"{x}", "{rnd(mp.exp(mp.mpf(x) / WAD) * WAD)}"}},')
    print("// sqrt_wad: floor(sqrt(x / 1e18) * 1e18)")
    for x in [1, 2, 3, 2 * WAD, 10**36, 340282366920938463463, 340282366920938463464, 123456789 * WAD, I128_MAX]:
        print(f'    {{"{x}", "{int(mp.floor(mp.sqrt(mp.mpf(x) * WAD)))}"}},')
    print("// norm_cdf_wad: round(ncdf(x / 1e18) * 1e18)")
    for x in [0, WAD // 10, WAD, -WAD, 1960000000000000000, 2500000000000000000, -3 * WAD, 5 * WAD, -8 * WAD,
              -8500000000000000000, -8830000000000000000, 8800000000000000000]:
        print(f'    {{"{x}", "{rnd(mp.ncdf(mp.mpf(x) / WAD) * WAD)}"}},')
    print("// bs_price (s, k, vol, t, call): exact value, micro-USDC; double from math.erfc")
    for args in [(100_000_000, 100_000_000, 200_000, 31_536_000, True),
                 (100_000_000, 100_000_000, 200_000, 31_536_000, False),
                 (3_000_000_000, 3_500_000_000, 800_000, 30 * 86400, True),
                 (3_000_000_000, 3_500_000_000, 800_000, 30 * 86400, False),
                 (65_000_000_000, 60_000_000_000, 550_000, 7 * 86400, True),
                 (65_000_000_000, 60_000_000_000, 550_000, 7 * 86400, False),
                 (1_000_000, 5_000_000, 3_000_000, 2 * 31_536_000, True),
                 (200_000_000_000, 40_000_000_000, 50_000, 60, False),
                 (150_000_000_000, 150_000_000_000, 50_000, 60, True)]:
        e = bs(*args)
        print(f"    {args}: exact {mp.nstr(e, 25)} -> {rnd(e)}; double {bs_double(*args)!r}")


if __name__ == "__main__":
    main()
