// Decimals in a file are rounded once, from their exact value, to the storage dtype (a custom
// scale to f64, ALiBi slopes to f32). Rounding a 128-bit approximation instead lands on a tie
// for a decimal within 2^-129 of one, and ties-to-even then picks the wrong neighbour: every
// "tie plus a tiny tail" case below failed that way.
#include <gtest/gtest.h>

#include <boost/multiprecision/gmp.hpp>
#include <cmath>
#include <cstdint>
#include <string>

#include "attncheck/formats/problem_file.hpp"
#include "attncheck/half.hpp"
#include "attncheck/oracle/exact_decimal.hpp"

namespace attncheck::formats {
namespace {

using oracle::decimal_to_dtype;
using oracle::decimal_to_f32;
using oracle::decimal_to_f64;
using Integer = boost::multiprecision::mpz_int;

// The exact decimal text of m * 2^e: a binary fraction is a finite decimal.
std::string exact_decimal(Integer m, int e) {
  const bool negative = m < 0;
  if (negative) m = -m;
  std::string digits;
  size_t fraction_digits = 0;
  if (e >= 0) {
    digits = Integer(m << e).str();
  } else {
    digits = Integer(m * boost::multiprecision::pow(Integer(5), static_cast<unsigned>(-e))).str();
    fraction_digits = static_cast<size_t>(-e);
  }
  if (digits.size() <= fraction_digits) digits.insert(0, fraction_digits - digits.size() + 1, '0');
  if (fraction_digits > 0) digits.insert(digits.size() - fraction_digits, ".");
  return (negative ? "-" : "") + digits;
}

// The same text followed by `zeros` zeros and a 1: above the value by 10^-(zeros + 1) in the
// last place, far below 2^-129 relative.
std::string plus_tiny(const std::string& text, int zeros = 60) {
  return text + (text.find('.') == std::string::npos ? "." : "") + std::string(zeros, '0') + "1";
}
// The exact decimal `text` less one unit in its 61st extra decimal place: below it by a tiny.
std::string minus_tiny(const std::string& text) {
  std::string digits = text;
  const bool negative = digits[0] == '-';
  if (negative) digits.erase(0, 1);
  if (digits.find('.') == std::string::npos) digits += ".";
  digits += std::string(61, '0');
  for (size_t i = digits.size(); i-- > 0;) {  // subtract 1 in the last place, borrowing
    if (digits[i] == '.') continue;
    if (digits[i] != '0') {
      --digits[i];
      break;
    }
    digits[i] = '9';
  }
  return (negative ? "-" : "") + digits;
}

struct Format {
  DType dtype;
  int precision;     // significand bits
  int min_exponent;  // of normal numbers, 1.f x 2^e
  int max_exponent;
};
constexpr Format kFormats[] = {{DType::f32, 24, -126, 127}, {DType::f16, 11, -14, 15}, {DType::bf16, 8, -126, 127}};

TEST(DecimalRounding, TheIssueExampleRoundsToTheNeighbourAboveTheTie) {
  // 1 + 2^-11 is the tie between 1 and 1 + 2^-10 in f16; a hair above it is 1 + 2^-10.
  EXPECT_EQ(decimal_to_dtype("1.000488281250000000000000000000000000000000001", DType::f16), 1.0f + 0x1p-10f);
  EXPECT_EQ(decimal_to_dtype("1.000488281249999999999999999999999999999999999", DType::f16), 1.0f);
  EXPECT_EQ(decimal_to_dtype("1.00048828125", DType::f16), 1.0f);             // the tie: to even
  EXPECT_EQ(decimal_to_dtype("1.00146484375", DType::f16), 1.0f + 0x1p-9f);   // 1 + 3 * 2^-11: to even, up
  EXPECT_EQ(decimal_to_dtype("-1.000488281250000000000000000000000000000000001", DType::f16), -(1.0f + 0x1p-10f));
}

TEST(DecimalRounding, TiesAndTiesPlusOrMinusATinyTailInEveryDtype) {
  uint64_t state = 0x9e3779b97f4a7c15u;
  const auto next = [&] {  // SplitMix64: the same cases everywhere
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
  };
  for (const Format& f : kFormats) {
    const int min_sub = f.min_exponent - (f.precision - 1);  // exponent of the smallest subnormal's unit
    for (int n = 0; n < 400; ++n) {
      // A value a = m * 2^e of the format (normal or subnormal, either sign) and its successor
      // b = (m + 1) * 2^e; the midpoint is (2m + 1) * 2^(e-1).
      const bool subnormal = n % 4 == 0;
      const int e = subnormal ? min_sub
                              : f.min_exponent - (f.precision - 1) +
                                    static_cast<int>(next() % static_cast<uint64_t>(f.max_exponent - f.min_exponent));
      const uint64_t span = uint64_t{1} << (f.precision - 1);
      const uint64_t m = subnormal ? next() % span : span + next() % (span - 1);  // b stays finite
      const double sign = n % 3 == 0 ? -1.0 : 1.0;
      const float a = static_cast<float>(sign * std::ldexp(static_cast<double>(m), e));
      const float b = static_cast<float>(sign * std::ldexp(static_cast<double>(m + 1), e));
      const float even = m % 2 == 0 ? a : b;
      const Integer mid = Integer(2 * m + 1) * (sign < 0 ? -1 : 1);
      const std::string tie = exact_decimal(mid, e - 1);
      SCOPED_TRACE(std::string(dtype_name(f.dtype)) + " tie " + tie);
      EXPECT_EQ(decimal_to_dtype(exact_decimal(Integer(m) * (sign < 0 ? -1 : 1), e), f.dtype), a);
      EXPECT_EQ(decimal_to_dtype(tie, f.dtype), even);
      // Away from zero past the tie is b's side, toward zero a's, whatever the sign.
      EXPECT_EQ(decimal_to_dtype(plus_tiny(tie), f.dtype), b);
      EXPECT_EQ(decimal_to_dtype(minus_tiny(tie), f.dtype), a);
    }
  }
}

TEST(DecimalRounding, SubnormalsUnderflowAndSignedZero) {
  // f16: the smallest subnormal is 2^-24; half of it ties to zero (even), a hair more is 2^-24.
  EXPECT_EQ(decimal_to_dtype("5.9604644775390625e-8", DType::f16), 0x1p-24f);
  EXPECT_EQ(decimal_to_dtype("2.98023223876953125e-8", DType::f16), 0.0f);
  EXPECT_EQ(decimal_to_dtype("2.980232238769531250000000000000000000000000000001e-8", DType::f16), 0x1p-24f);
  EXPECT_EQ(decimal_to_dtype("8.94069671630859375e-8", DType::f16), 0x1p-23f);  // 3 * 2^-25: to even
  EXPECT_EQ(decimal_to_dtype("6.103515625e-5", DType::f16), 0x1p-14f);          // the smallest normal
  EXPECT_EQ(decimal_to_f32("1.4e-45"), 0x1p-149f);
  const std::string half_min_f32 =
      "7.00649232162408535461864791644958065640130970938257885878534141944895541342930300743319094181060791015625e-46";
  EXPECT_EQ(decimal_to_f32(half_min_f32), 0.0f);  // exactly 2^-150: the tie goes to even, zero
  EXPECT_EQ(decimal_to_f32(
                "7.006492321624085354618647916449580656401309709382578858785341419448955413429303007433190941810607910156250001e-46"),
            0x1p-149f);
  EXPECT_EQ(decimal_to_f32("1e-50"), 0.0f);
  EXPECT_EQ(decimal_to_dtype("1e-40", DType::bf16), 0x1p-133f);  // 1e-40 ~ 1.09 * 2^-133: the nearest
  const float tiny_negative = decimal_to_dtype("-1e-30", DType::f16);
  EXPECT_EQ(tiny_negative, 0.0f);
  EXPECT_TRUE(std::signbit(tiny_negative));  // IEEE: a negative value that rounds to zero is -0
  EXPECT_TRUE(std::signbit(decimal_to_f32("-0")));
  EXPECT_TRUE(std::signbit(decimal_to_f32("-0.000e5")));
  EXPECT_FALSE(std::signbit(decimal_to_f32("0.0")));
}

TEST(DecimalRounding, OverflowIsInfinityFromTheHalfwayPointOn) {
  EXPECT_EQ(decimal_to_dtype("6.5504e4", DType::f16), 65504.0f);
  EXPECT_EQ(decimal_to_dtype("65519.99999999999999999999999999999999999999999", DType::f16), 65504.0f);
  EXPECT_TRUE(std::isinf(decimal_to_dtype("65520", DType::f16)));  // the tie with 2^16: to even, infinity
  EXPECT_TRUE(std::isinf(decimal_to_dtype("-1e5", DType::f16)));
  EXPECT_EQ(decimal_to_dtype("3.3895313892515355e38", DType::bf16), 0x1.fep127f);  // bf16's largest
  EXPECT_TRUE(std::isinf(decimal_to_dtype("3.4e38", DType::bf16)));
  EXPECT_EQ(decimal_to_f32("3.4028235e38"), 0x1.fffffep127f);
  EXPECT_TRUE(std::isinf(decimal_to_f32("3.5e38")));
  EXPECT_TRUE(std::isinf(decimal_to_f64("1e309")));
}

TEST(DecimalRounding, ExponentsAndPlainDecimalsAgreeWithTheCompiler) {
  // The compiler's own decimal literals are correctly rounded: they are the reference here.
  EXPECT_EQ(decimal_to_f32("1e-5"), 1e-5f);
  EXPECT_EQ(decimal_to_f32("0.1"), 0.1f);
  EXPECT_EQ(decimal_to_f32("-2.5E+3"), -2500.0f);
  EXPECT_EQ(decimal_to_f32(".5"), 0.5f);
  EXPECT_EQ(decimal_to_f64("0.1"), 0.1);
  EXPECT_EQ(decimal_to_f64("1e-5"), 1e-5);
  EXPECT_EQ(decimal_to_f64("2.2250738585072014e-308"), 0x1p-1022);
  EXPECT_EQ(decimal_to_f64("4.9406564584124654e-324"), 0x1p-1074);
  EXPECT_EQ(decimal_to_dtype("1e-5", DType::f16), round_to_f16(1e-5f));  // via a float, 1e-5 is far from a tie
  EXPECT_THROW(decimal_to_f32("1e"), std::invalid_argument);
  EXPECT_THROW(decimal_to_f32("0x1p3"), std::invalid_argument);
  EXPECT_THROW(decimal_to_f32("nan"), std::invalid_argument);
  EXPECT_THROW(decimal_to_f32(" 1"), std::invalid_argument);
}

TEST(DecimalRounding, F64TiesForAScale) {
  // 1 + 2^-53 is the tie between 1 and 1 + 2^-52.
  const std::string tie = "1.00000000000000011102230246251565404236316680908203125";
  EXPECT_EQ(decimal_to_f64(tie), 1.0);
  EXPECT_EQ(decimal_to_f64(plus_tiny(tie)), 1.0 + 0x1p-52);
  EXPECT_EQ(decimal_to_f64(minus_tiny(tie)), 1.0);
}

// The reader: values to the dtype, the scale to f64, slopes to f32, each once.
TEST(DecimalRounding, TheProblemReaderRoundsEachValueOnce) {
  const std::string f32_tie = "1.000000059604644775390625";  // 1 + 2^-24
  const std::string text = R"({"dtype": "f16", "shape": {"q_len": 1, "kv_len": 1, "head_dim": 1},
      "scale": ")" + plus_tiny("1.00000000000000011102230246251565404236316680908203125") +
                           R"(", "alibi_slopes": [")" + plus_tiny(f32_tie) + R"("],
      "q": ["1.000488281250000000000000000000000000000000001"], "k": ["1.00048828125"],
      "v": [")" + minus_tiny("1.00146484375") + R"("]})";
  const ProblemFile f = read_problem(JsonReader(parse_json_text(text, "t.json"), "t.json"));
  EXPECT_EQ(f.problem.q[0], 1.0f + 0x1p-10f);
  EXPECT_EQ(f.problem.k[0], 1.0f);
  EXPECT_EQ(f.problem.v[0], 1.0f + 0x1p-10f);
  ASSERT_TRUE(f.problem.spec.scale.has_value());
  EXPECT_EQ(*f.problem.spec.scale, 1.0 + 0x1p-52);
  EXPECT_EQ(f.problem.alibi_slopes[0], 1.0f + 0x1p-23f);
}

// In stored mode the oracle multiplies by the f64 the file's scale was rounded to; the ledger
// says which, rather than the file's text alone.
TEST(DecimalRounding, TheLedgerShowsTheScaleActuallyUsed) {
  const auto read = [](const std::string& members) {
    return read_problem(JsonReader(parse_json_text(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 4}, )" + members +
                                                       R"(, "q": [1, 1, 1, 1], "k": [1, 1, 1, 1], "v": [1, 1, 1, 1]})",
                                                   "t.json"),
                                   "t.json"));
  };
  EXPECT_EQ(scale_ledger_text(read(R"("scale": 0.1)"), 6),
            "0.1, used as the f64 0.1000000000000000055511151231257827021181583404541015625");
  EXPECT_EQ(scale_ledger_text(read(R"("scale": 0.125)"), 6), "0.125");  // exact in f64: the text alone
  EXPECT_EQ(scale_ledger_text(read(R"("scale": 0.1, "inputs": "exact_decimal")"), 6), "0.1");  // read exactly
  oracle::PrecisionScope precision(oracle::kDefaultPrecisionBits);
  EXPECT_EQ(scale_ledger_text(read(R"("causal": false)"), 6), "1/sqrt(4) = 0.5");
}

TEST(DecimalRounding, AValueThatOverflowsItsDtypeIsAnErrorNamingIt) {
  const auto error_of = [](const std::string& members) {
    try {
      read_problem(JsonReader(parse_json_text("{" + members + "}", "t.json"), "t.json"));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const std::string shape = R"("shape": {"q_len": 1, "kv_len": 1, "head_dim": 1})";
  EXPECT_EQ(error_of(R"("dtype": "f16", )" + shape + R"(, "q": [1], "k": [65520], "v": [1])"),
            "t.json: field 'k[0]': value 65520 overflows f16");
  EXPECT_EQ(error_of(shape + R"(, "scale": "1e309", "q": [1], "k": [1], "v": [1])"),
            "t.json: field 'scale': value 1e309 overflows f64");
  EXPECT_EQ(error_of(shape + R"(, "alibi_slopes": [4e38], "q": [1], "k": [1], "v": [1])"),
            "t.json: field 'alibi_slopes[0]': value 4e38 overflows f32");
  EXPECT_EQ(error_of(shape + R"(, "q": [1], "k": [1], "v": ["1e-4001"])"),
            "t.json: field 'v[0]': '1e-4001' is not a number attncheck reads: its exponent is beyond +-4000");
}

}  // namespace
}  // namespace attncheck::formats
