// Integer fixed-point ln, exp, sqrt and normal CDF (see fixed_math.h for domains, rounding and error
// bounds). Internally: 256-bit products built from 64-bit limbs, and binary fixed point (Q125 for ln/exp,
// Q62 for the normal tail), converted to WAD once at the end so rounding happens in one place.
#include "engine/risk/fixed_math.h"

#include <bit>

namespace opt {
namespace {

constexpr u128 u128_of(uint64_t hi, uint64_t lo) {
  return (static_cast<u128>(hi) << 64) | lo;
}
constexpr uint64_t lo64(u128 v) {
  return static_cast<uint64_t>(v);
}
constexpr uint64_t hi64(u128 v) {
  return static_cast<uint64_t>(v >> 64);
}

constexpr u128 kU128Max = ~static_cast<u128>(0);
constexpr u128 kI128MaxMag = (static_cast<u128>(1) << 127) - 1;  // |INT128_MAX|
constexpr u128 kI128MinMag = static_cast<u128>(1) << 127;        // |INT128_MIN|
constexpr u128 kUWad = static_cast<u128>(kWad);

// |v| as u128; well defined for INT128_MIN.
constexpr u128 magnitude(i128 v) {
  return v < 0 ? -static_cast<u128>(v) : static_cast<u128>(v);
}

// Applies a sign to a magnitude, nullopt when the result does not fit in i128.
std::optional<i128> with_sign(u128 mag, bool negative) {
  if (!negative) {
    if (mag > kI128MaxMag) return std::nullopt;
    return static_cast<i128>(mag);
  }
  if (mag > kI128MinMag) return std::nullopt;
  if (mag == kI128MinMag) return -static_cast<i128>(kI128MaxMag) - 1;
  return -static_cast<i128>(mag);
}

int bit_length(u128 v) {
  if (hi64(v) != 0) return 128 - std::countl_zero(hi64(v));
  return 64 - std::countl_zero(lo64(v));
}

struct U256 {
  u128 hi = 0;
  u128 lo = 0;
};

// Full 256-bit product (schoolbook on 64-bit limbs; no partial sum can overflow 128 bits).
U256 mul_256(u128 a, u128 b) {
  u128 p00 = static_cast<u128>(lo64(a)) * lo64(b);
  u128 p01 = static_cast<u128>(lo64(a)) * hi64(b);
  u128 p10 = static_cast<u128>(hi64(a)) * lo64(b);
  u128 p11 = static_cast<u128>(hi64(a)) * hi64(b);
  u128 mid = (p00 >> 64) + lo64(p01) + lo64(p10);
  return {p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64), (mid << 64) | lo64(p00)};
}

bool less_256(U256 a, U256 b) {
  return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
}

// round(v / 2^s), halves up, for 1 <= s <= 255; nullopt when the quotient needs more than 128 bits.
std::optional<u128> shr_nearest_256(U256 v, int s) {
  U256 half = s <= 128 ? U256{0, static_cast<u128>(1) << (s - 1)} : U256{static_cast<u128>(1) << (s - 129), 0};
  u128 lo = v.lo + half.lo;
  u128 hi = v.hi + half.hi + (lo < v.lo ? 1 : 0);
  if (hi < v.hi) return std::nullopt;  // carried out of 256 bits
  if (s >= 128) return hi >> (s - 128);
  if ((hi >> s) != 0) return std::nullopt;
  return (lo >> s) | (hi << (128 - s));
}

struct DivMod {
  u128 quotient;
  u128 remainder;
};

// (n.hi * 2^128 + n.lo) / d for n.hi < d (so the quotient fits in 128 bits).
DivMod div_256(U256 n, u128 d) {
  if (n.hi == 0) return {n.lo / d, n.lo % d};
  if (hi64(d) == 0) {
    // Two 128-by-64 steps of schoolbook division; each partial quotient fits in 64 bits because the
    // running remainder stays below d.
    u128 cur = (n.hi << 64) | hi64(n.lo);
    u128 q1 = cur / d;
    cur = ((cur % d) << 64) | lo64(n.lo);
    return {(q1 << 64) | (cur / d), cur % d};
  }
  // Restoring binary long division: only reached for divisors >= 2^64 with a 256-bit dividend.
  u128 rem = n.hi, quo = n.lo;
  for (int i = 0; i < 128; ++i) {
    bool carry = (rem >> 127) != 0;
    rem = (rem << 1) | (quo >> 127);
    quo <<= 1;
    if (carry || rem >= d) {
      rem -= d;  // wraps correctly when carry is set: the true value is 2^128 + rem >= d
      quo |= 1;
    }
  }
  return {quo, rem};
}

enum class Rounding : uint8_t { kDown, kUp, kNearest };

// a * b / d rounded as named (down = toward minus infinity), exact 256-bit intermediate.
std::optional<i128> mul_div(i128 a, i128 b, i128 d, Rounding mode) {
  if (d == 0) return std::nullopt;
  bool negative = ((a < 0) != (b < 0)) != (d < 0);
  u128 ud = magnitude(d);
  U256 p = mul_256(magnitude(a), magnitude(b));
  if (p.hi >= ud) return std::nullopt;
  DivMod qr = div_256(p, ud);
  u128 q = qr.quotient;
  if (qr.remainder != 0) {
    bool away = mode == Rounding::kNearest ? qr.remainder >= ud - qr.remainder : (mode == Rounding::kUp) != negative;
    if (away) {
      if (q == kU128Max) return std::nullopt;
      ++q;
    }
  }
  if (q == 0) return 0;
  return with_sign(q, negative);
}

// round(v * m / 2^s) for signed v, halves away from zero.
std::optional<i128> mul_shr_nearest(i128 v, u128 m, int s) {
  auto q = shr_nearest_256(mul_256(magnitude(v), m), s);
  if (!q) return std::nullopt;
  return with_sign(*q, v < 0);
}

// floor(a * b / 2^125) for a product below 2^253.
u128 mul_q125(u128 a, u128 b) {
  U256 p = mul_256(a, b);
  return (p.hi << 3) | (p.lo >> 125);
}

// Shift-and-add steps of ln/exp: after n steps the remainder is below 2^-n, and a cubic finishes it.
constexpr int kShiftAddSteps = 32;

struct CdfPiece {
  int shift;  // coefficients are scaled by 2^(62 + shift)
  int64_t c[16];
};
constexpr int kCdfPieceCount = 18;
constexpr int kCdfCoeffs = 16;
constexpr int kQ62 = 62;

// ---- generated by tests/risk/gen_fixed_math_tables.py (mpmath, 60 digits); do not edit ----
constexpr u128 kLn2Q125 = u128_of(0x162e42fefa39ef35, 0x793c7673007e5ed6);
constexpr i128 kLn2Q120 = static_cast<i128>(u128_of(0x00b17217f7d1cf79, 0xabc9e3b39803f2f7));
constexpr i128 kLnWadQ120 = static_cast<i128>(u128_of(0x29724fe657ff7066, 0x71e86c3c3ccb5adb));
constexpr u128 kWadToQ120 = u128_of(0x12725dd1d243aba0, 0xe75fe645cc4873fa);  // 2^184 / 1e18
constexpr i128 kWadToQ62 = 5316911983139663492LL;                             // 2^122 / 1e18
// kLnOnePlus[i] = ln(1 + 2^-i) * 2^125, i = 0..32
constexpr u128 kLnOnePlus[33] = {
    u128_of(0x162e42fefa39ef35, 0x793c7673007e5ed6), u128_of(0x0cf991f65fcc25f9, 0x5b46bb37a02910c1),
    u128_of(0x0723fdf1e6a6886b, 0x097607bcbfee6893), u128_of(0x03c4e0edc55e5cbd, 0x3d50fffc3fd3c2ac),
    u128_of(0x01f0a30c01162a66, 0x17cc9716eeb32f13), u128_of(0x00fc14d873c19802, 0x67c7e09e3de453f6),
    u128_of(0x007f02a2c3f00f8f, 0x3e7b69d34deaf55b), u128_of(0x003fc054d620cf11, 0xf86ed20723b8505a),
    u128_of(0x001ff00aa2b10bc0, 0x4a086b569b4d4b77), u128_of(0x000ffc0154d58873, 0x3c53c742a7c76356),
    u128_of(0x0007ff002aa2ac43, 0xef013414649324d2), u128_of(0x0003ffc00554d562, 0x20ccf15b16631967),
    u128_of(0x0001fff000aaa2ab, 0x110bbc04dc4e3dc1), u128_of(0x0000fffc001554d5, 0x58887333c57857e2),
    u128_of(0x00007fff0002aaa2, 0xaac443eef0137d38), u128_of(0x00003fffc0005554, 0xd5562220cccf15ed),
    u128_of(0x00001ffff0000aaa, 0xa2aab1110bbbc04e), u128_of(0x00000ffffc000155, 0x54d555888873333c),
    u128_of(0x000007ffff00002a, 0xaaa2aaac4443eeef), u128_of(0x000003ffffc00005, 0x5554d555622220cd),
    u128_of(0x000001fffff00000, 0xaaaaa2aaab11110c), u128_of(0x000000fffffc0000, 0x155554d555588888),
    u128_of(0x0000007fffff0000, 0x02aaaaa2aaaac444), u128_of(0x0000003fffffc000, 0x00555554d5555622),
    u128_of(0x0000001ffffff000, 0x000aaaaaa2aaaab1), u128_of(0x0000000ffffffc00, 0x0001555554d55556),
    u128_of(0x00000007ffffff00, 0x00002aaaaaa2aaab), u128_of(0x00000003ffffffc0, 0x000005555554d555),
    u128_of(0x00000001fffffff0, 0x000000aaaaaaa2ab), u128_of(0x00000000fffffffc, 0x00000015555554d5),
    u128_of(0x000000007fffffff, 0x00000002aaaaaaa3), u128_of(0x000000003fffffff, 0xc000000055555555),
    u128_of(0x000000001fffffff, 0xf00000000aaaaaab),
};
// Normal tail Q(x) = erfc(x / sqrt 2) / 2 on [0.5 j, 0.5 (j + 1)): Chebyshev interpolant
// (mpmath.chebyfit) in t = x - centre, coefficients constant term first, scaled by 2^(62 + shift).
constexpr CdfPiece kCdfPieces[kCdfPieceCount] = {
    {0,
     {1850640427131414422, -1783191948031347826, 222898993503918478, 278623741879898098, -54563816118146532,
      -39065370476077353, 8902899252233189, 4332678654806219, -1089278269262559, -390974917041717, 106599058850049,
      29566142627748, -8690718899844, -1917508502712, 598113087578, 107237793641}},
    {0,
     {1045134192349619931, -1388751285493437582, 520781732060039093, 101263114567229824, -105783789324695404,
      678101213619799, 14019742591585528, -1582841612619509, -1353723876190261, 266697701692552, 100328673468396,
      -28661301074335, -5809134377846, 2355915031122, 254925732203, -156442620457}},
    {1,
     {974447168138908834, -1684640466734204839, 1052900291708878026, -157935043756331704, -126128680777626306,
      55222426757856282, 5312485195834210, -7522756494235275, 606235857461346, 647179678817990, -134785011355794,
      -37634583288048, 14129737184736, 1295066013096, -1032321182664, 5920790762}},
    {2,
     {738961014475419220, -1591535619758500805, 1392593667288688204, -547090369291984652, 7253092017128798,
      79524973187802762, -24161862782086992, -3426793017327553, 3338381986625142, -315969397605163, -241450479529179,
      64264589702060, 8920892055052, -5731860604199, 117380951335, 336347546171}},
    {3,
     {451003437007340692, -1170986468802404785, 1317359777402705383, -792855421584961573, 226421211741090310,
      17038767954253634, -36579032881698406, 9729121526944747, 1182866667607302, -1241603482234986, 174216991218367,
      65950457103023, -25562294289695, -226375852580, 1705332612511, -238784167766}},
    {5,
     {439735438378401972, -1341972961481057262, 1845212822036453738, -1467782926619906380, 701565291711775672,
      -165693471448491229, -17599197814216017, 26639383837600317, -7271659865039585, -368044028023191, 747582149975797,
      -156782771798237, -20710853385632, 15435167906922, -1614896813568, -649382432411}},
    {7,
     {340615464995324312, -1197738567240523844, 1946325171765851247, -1908895841539584877, 1226590342623270525,
      -510949346474187846, 113218850323789171, 8261408358459998, -15486788254271122, 4789258837596590, -179905635537093,
      -338694615445719, 105357373562075, -2455012008747, -6360639617431, 1509707466800}},
    {9,
     {208769412069301247, -832543016208287833, 1561018155390539677, -1812515524870126636, 1439063612000657336,
      -807420380269971752, 312762589401522268, -71429913337914645, -27505530085694, 6956035553985514, -2606069374348291,
      319302340179269, 97666000720153, -50684614392391, 6954738417448, 1374631541538}},
    {11,
     {100950271741677217, -450689779620849860, 957715781694305956, -1281649060796791787, 1202132830147539389,
      -829565546505891397, 427324551422115159, -160689245922061791, 39581388522283308, -3068645681706777,
      -2214170987674913, 1106546513197819, -224166273859768, -4746902437129, 16266574385244, -4254823192736}},
    {14,
     {76848637039917136, -380018826319960829, 902544712509907010, -1365692657087359236, 1471335911539573898,
      -1192915217399502170, 748213092237791348, -365702310517658535, 136970058302966936, -36735361732591630,
      5274184380983648, 728132780626784, -687851476577204, 199973857766229, -21778369833963, -5381953280252}},
    {17,
     {45969165627665062, -249550758684236959, 655070741546122001, -1104782004591674052, 1340847924102224085,
      -1242173019618573352, 908121668951911504, -533213511284323281, 252622616580076567, -95522990452856291,
      27694224771556666, -5402182883621095, 265436398233557, 273765230339914, -120445790358499, 24854283176587}},
    {21,
     {43155483928758618, -255251940243111597, 733849328198945412, -1364002555674127525, 1838445452415211575,
      -1909611886926232111, 1584918664630492178, -1074562726086429378, 602529246466893012, -280477864100549103,
      107716577028164041, -33358217848544670, 7824547875290799, -1108467498787846, -68011256572193, 93074993554570}},
    {25,
     {31757238315493529, -203331932798619501, 635412289995685486, -1289886948691242157, 1909546308997604446,
      -2193449843943229789, 2030237412888271333, -1551586994375760772, 994651903492487876, -539881752934484737,
      249012550986998631, -97312256541215386, 31819675566114208, -8436304318645226, 1660367500107481,
      -167643801867507}},
    {29,
     {18302343768254080, -126144553938550490, 425737869542612034, -936886114147776365, 1510039006032550036,
      -1898019741023539623, 1933933674691350827, -1638909883649464377, 1175623023739500565, -722378814387336335,
      383106256220365973, -175984004948583006, 69960600770014543, -23919742358753099, 6990841211514647,
      -1638785783014653}},
    {33,
     {8255012642597310, -60947767390715943, 220935656791362226, -523769876013968812, 912510290804400315,
      -1244574440271300886, 1382192743949149235, -1283393146080555294, 1014982913124123762, -692850817768155534,
      412097703058336999, -214921364337576719, 98599232982614764, -39843397414377643, 14423297293532396,
      -4427189213349728}},
    {38,
     {5824382226789796, -45867331327552534, 177735908894329152, -451506542755613295, 845171275085407576,
      -1242289494995841325, 1491934430406750991, -1503892939173705940, 1297045996564428398, -970689003926588399,
      636996829067257143, -369370770593915198, 190184386936597422, -87367996725429619, 36910358606520482,
      -13411084442056511}},
    {43,
     {3212622661247879, -26882863276332038, 110891811015011898, -300472003078217653, 601241537798498003,
      -946977736968509073, 1221928856083155084, -1327394987504257723, 1237954746862785939, -1005739783553609321,
      719708050002676211, -457487822517571428, 259750803366049809, -132656842875952537, 63496081519061667,
      -26191483939770811}},
    {49,
     {2769477001633133, -24541660794703703, 107369765977254085, -309071540633462856, 658199033996442248,
      -1105487578594168535, 1524409532572860058, -1773906235729260351, 1776879200215843915, -1555059016447033041,
      1202771172745117254, -829501490490831624, 512981425433077866, -287001026396071550, 152884438081859809,
      -69949620970177580}},
};
// ---- end of generated tables ----

// Q(|x|) in WAD for the normal tail, rounded to nearest; see norm_cdf_wad.
i128 tail_wad(u128 ax) {
  if (ax >= 9 * kUWad) return 0;
  // |x| in Q62; ax < 9e18 and kWadToQ62 < 2^63 keep the product below 2^127.
  i128 u = (static_cast<i128>(ax) * kWadToQ62) >> 60;
  auto j = static_cast<int>(u >> 61);  // pieces are 1/2 = 2^61 wide
  if (j >= kCdfPieceCount) return 0;
  const CdfPiece& piece = kCdfPieces[j];
  i128 t = u - (static_cast<i128>(2 * j + 1) << 60);  // offset from the piece's centre, |t| <= 2^60
  i128 acc = piece.c[kCdfCoeffs - 1];
  for (int k = kCdfCoeffs - 2; k >= 0; --k) acc = piece.c[k] + ((acc * t) >> kQ62);
  int shift = kQ62 + piece.shift;
  i128 q = (acc * kWad + (static_cast<i128>(1) << (shift - 1))) >> shift;
  if (q < 0) return 0;  // the far tail is positive; keep a rounding wobble from going below zero
  return q > kWad / 2 ? kWad / 2 : q;
}

}  // namespace

std::optional<i128> mul_wad_down(i128 a, i128 b) {
  return mul_div(a, b, kWad, Rounding::kDown);
}
std::optional<i128> mul_wad_up(i128 a, i128 b) {
  return mul_div(a, b, kWad, Rounding::kUp);
}
std::optional<i128> mul_wad_nearest(i128 a, i128 b) {
  return mul_div(a, b, kWad, Rounding::kNearest);
}
std::optional<i128> div_wad_down(i128 a, i128 b) {
  return mul_div(a, kWad, b, Rounding::kDown);
}
std::optional<i128> div_wad_up(i128 a, i128 b) {
  return mul_div(a, kWad, b, Rounding::kUp);
}
std::optional<i128> div_wad_nearest(i128 a, i128 b) {
  return mul_div(a, kWad, b, Rounding::kNearest);
}

u128 isqrt(u128 n) {
  if (n < 2) return n;
  // 2^ceil(bits/2) >= sqrt(n); from above, Newton's step floor((x + n/x) / 2) decreases strictly until it
  // reaches floor(sqrt(n)), so the first non-decrease ends the loop with the exact floor.
  u128 x = static_cast<u128>(1) << ((bit_length(n) + 1) / 2);
  while (true) {
    u128 y = (x + n / x) >> 1;
    if (y >= x) return x;
    x = y;
  }
}

std::optional<i128> sqrt_wad(i128 x) {
  if (x < 0) return std::nullopt;
  u128 ux = static_cast<u128>(x);
  if (ux <= kU128Max / kUWad) return static_cast<i128>(isqrt(ux * kUWad));
  // x * 1e18 needs more than 128 bits. sqrt(x) = s + r / (2s) - ..., with s = isqrt(x), r = x - s^2 <= 2s,
  // gives an over-estimate of sqrt(x * 1e18) by less than 1e9 / (2s) < 0.03, so its floor is the answer
  // or one above; the exact 256-bit comparison settles which.
  u128 s = isqrt(ux);
  u128 r = ux - s * s;
  u128 c = s * 1'000'000'000 + (r * 1'000'000'000) / (2 * s);
  U256 target = mul_256(ux, kUWad);
  while (less_256(target, mul_256(c, c))) --c;
  while (!less_256(target, mul_256(c + 1, c + 1))) ++c;
  return static_cast<i128>(c);
}

std::optional<i128> ln_wad(i128 x) {
  if (x <= 0) return std::nullopt;
  u128 ux = static_cast<u128>(x);
  int k = bit_length(ux) - 1;  // x = 2^k * m, m in [1, 2)
  u128 m = k <= 125 ? ux << (125 - k) : ux >> (k - 125);
  // Multiply m by the factors (1 + 2^-i), i = 1..32, that keep it <= 2, greedily; the product of the
  // chosen factors then lies within (1 + 2^-32) of 2 / m, and ln m = ln 2 - sum ln(1 + 2^-i) + ln(m' / 2).
  constexpr u128 kTwo = static_cast<u128>(1) << 126;
  u128 acc = 0;
  for (int i = 1; i <= kShiftAddSteps; ++i) {
    u128 t = m + (m >> i);
    if (t <= kTwo) {
      m = t;
      acc += kLnOnePlus[i];
    }
  }
  // m' = 2 (1 - delta), 0 <= delta < 2^-32: ln(1 - delta) = -(delta + delta^2/2 + delta^3/3), error
  // below delta^4 / 4 < 2^-130.
  u128 delta = (kTwo - m) >> 1;  // Q125
  u128 delta2 = mul_q125(delta, delta);
  u128 delta3 = mul_q125(delta2, delta);
  u128 ln_1md = delta + (delta2 >> 1) + delta3 / 3;
  i128 ln_m = static_cast<i128>(kLn2Q125) - static_cast<i128>(acc) - static_cast<i128>(ln_1md);
  i128 total = k * kLn2Q120 + (ln_m >> 5) - kLnWadQ120;  // ln(x / 1e18) in Q120, |total| < 47 * 2^120
  return mul_shr_nearest(total, kUWad, 120);
}

std::optional<i128> exp_wad(i128 x) {
  if (x < kExpWadMin) return 0;
  if (x > kExpWadMax) return std::nullopt;
  auto xq = mul_shr_nearest(x, kWadToQ120, 64);  // x in Q120; |x| <= 46.5 fits
  if (!xq) return std::nullopt;
  // x = k ln 2 + r with 0 <= r < ln 2.
  i128 k = floor_div(*xq, kLn2Q120);
  u128 r = static_cast<u128>(*xq - k * kLn2Q120) << 5;  // Q125
  if (r >= kLnOnePlus[0]) {                             // the Q120 and Q125 roundings of ln 2 differ by a few units
    r -= kLnOnePlus[0];
    ++k;
  }
  // Inverse of the ln_wad loop: subtract ln(1 + 2^-i) from r whenever it fits and multiply y by
  // (1 + 2^-i); r stays below ln(1 + 2^-i) after step i, so below 2^-32 at the end.
  u128 y = static_cast<u128>(1) << 125;
  for (int i = 1; i <= kShiftAddSteps; ++i) {
    if (r >= kLnOnePlus[i]) {
      r -= kLnOnePlus[i];
      y += y >> i;
    }
  }
  // e^r = 1 + r + r^2/2 + r^3/6 with error below r^4 / 24 < 2^-132.
  u128 r2 = mul_q125(r, r);
  u128 r3 = mul_q125(r2, r);
  y += mul_q125(y, r + (r2 >> 1) + r3 / 6);
  // e^x in WAD = y * 1e18 * 2^k / 2^125, k in [-63, 68].
  int s = 125 - static_cast<int>(k);
  auto v = shr_nearest_256(mul_256(y, kUWad), s);
  if (!v || *v > kI128MaxMag) return std::nullopt;
  return static_cast<i128>(*v);
}

i128 norm_cdf_wad(i128 x) {
  i128 q = tail_wad(magnitude(x));
  return x < 0 ? q : kWad - q;
}

}  // namespace opt
