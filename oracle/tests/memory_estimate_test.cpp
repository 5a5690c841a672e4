// The memory estimate is an upper bound of what the oracle keeps, and not a wild one: counted
// in Reals (exactly what forward() returns) and, where glibc's malloc is in use, in bytes as
// malloc accounts them. Also: the byte sizes a user may write, and the refusal's message.
#include "attncheck/oracle/memory_estimate.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include "attncheck/random_problem.hpp"

namespace attncheck::oracle {
namespace {

// Reals in a result: per-row values and per-key vectors.
int64_t count_reals(const OracleResult& result) {
  int64_t n = 0;
  for (const RowTrace& row : result.rows) {
    n += 3 + static_cast<int64_t>(row.output.size() + row.raw.size() + row.scaled.size() + row.biased.size() +
                                  row.exps.size() + row.weights.size());
  }
  return n;
}

AttentionSpec long_spec() {
  AttentionSpec spec;
  spec.shape = {1, 2, 1, 48, 40, 3, 5};
  spec.causal = true;
  return spec;
}

TEST(MemoryEstimate, CountsTheRealsForwardKeeps) {
  const Problem p = make_random_problem(long_spec(), DType::f32, 3);
  std::vector<OracleOptions> cases(4);
  cases[1].keep_intermediates = false;                       // per-row values only
  cases[2].keep_intermediates = false;                       // a ledger's rows, 16 columns
  cases[2].intermediate_rows = {0, 1, 2, 50, 51};
  cases[2].intermediate_columns = 16;
  cases[3].keep_intermediates = false;                       // a sample
  cases[3].rows = {0, 7, 47, 95};
  cases[3].intermediate_rows = {7};
  for (size_t c = 0; c < cases.size(); ++c) {
    const OracleResult result = forward(p, cases[c]);
    const MemoryEstimate e = estimate_memory(p.spec, cases[c], InputForm::stored);
    EXPECT_EQ(e.kept_reals, count_reals(result)) << "case " << c;
    EXPECT_EQ(e.rows, static_cast<int64_t>(result.rows.size())) << "case " << c;
  }
}

TEST(MemoryEstimate, GrowsWithTheRowsCheckedNotWithTheScores) {
  AttentionSpec spec;
  spec.shape = {1, 8, 8, 4096, 4096, 128, 128};
  OracleOptions all;
  all.keep_intermediates = false;
  OracleOptions sample = all;
  for (int64_t r = 0; r < 64; ++r) sample.rows.push_back(r * 512);
  OracleOptions everything;  // every intermediate of every row: what used to be kept
  const double rows_all = estimate_memory(spec, all, InputForm::stored).row_bytes;
  const double rows_sample = estimate_memory(spec, sample, InputForm::stored).row_bytes;
  EXPECT_NEAR(rows_all / rows_sample, 32768.0 / 64.0, 32768.0 / 64.0 * 0.01);
  // Every intermediate of every row: 5 Reals and a byte per score, 40 GiB here.
  const double scores = 32768.0 * 4096;
  const double intermediates = estimate_memory(spec, everything, InputForm::stored).intermediate_bytes;
  EXPECT_GE(intermediates, scores * (5 * real_bytes(128) + 1));
  EXPECT_LT(intermediates, scores * (5 * real_bytes(128) + 1) * 1.01);
  // Inputs as floats are 4 bytes an element; as Reals, sizeof(Real) and the limbs.
  const double floats = estimate_memory(spec, sample, InputForm::stored).input_bytes;
  const double reals = estimate_memory(spec, sample, InputForm::reals).input_bytes;
  EXPECT_GT(floats, 3.0 * 4096 * 8 * 128 * 4);
  EXPECT_LT(floats, 3.0 * 4096 * 8 * 128 * 4 * 1.01);
  EXPECT_GT(reals / floats, 15.0);
}

TEST(MemoryEstimate, ARealIsItsStructAndItsLimbs) {
  EXPECT_GE(real_bytes(128), sizeof(Real) + 8 + 3 * 8);  // 134 bits: 3 limbs and a size word
  EXPECT_GT(real_bytes(1024), real_bytes(128));
  EXPECT_LE(real_bytes(128), 128.0);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// In bytes as glibc's malloc counts them (mallinfo2: in-use arena plus mmapped blocks): what
// the result holds after forward() returns, against the estimate's share for it. Under a
// sanitizer malloc is not glibc's, so the test is compiled out there.
TEST(MemoryEstimate, IsAnUpperBoundOfTheBytesTheResultHolds) {
  const Problem p = make_random_problem(long_spec(), DType::f32, 4);
  for (const bool keep : {true, false}) {
    OracleOptions options;
    options.keep_intermediates = keep;
    options.intermediate_rows = {1, 2};
    options.intermediate_columns = keep ? -1 : 16;
    PrecisionScope scope(options.precision_bits);
    const OracleProblem problem = from_problem_stored(p);
    const auto in_use = [] {
      const struct mallinfo2 m = mallinfo2();
      return static_cast<double>(m.uordblks + m.hblkhd);
    };
    // MPFR keeps caches (of constants used by exp and log) that grow on first use at a
    // precision; a first run fills them, so that the measured run counts the result alone.
    (void)forward(problem, options);
    const double before = in_use();
    const OracleResult result = forward(problem, options);
    const double held = in_use() - before;
    const MemoryEstimate e = estimate_memory(p.spec, options, InputForm::stored);
    const double estimated = e.row_bytes + e.intermediate_bytes;
    // glibc's per-thread cache keeps up to 7 freed chunks of each small size, which mallinfo
    // counts as in use: the scratch forward() frees can show as up to a few KiB held.
    constexpr double kThreadCacheSlack = 4096;
    EXPECT_LE(held, estimated + kThreadCacheSlack) << "keep=" << keep;
    EXPECT_GE(held * 1.5, estimated) << "keep=" << keep;  // and not far above
    EXPECT_EQ(result.rows.size(), 96u);
  }
}
#endif

TEST(MemoryEstimate, ParsesSizesAsAUserWritesThem) {
  EXPECT_EQ(parse_byte_size("1048576"), 1048576.0);
  EXPECT_EQ(parse_byte_size("4G"), 4.0 * (1 << 30));
  EXPECT_EQ(parse_byte_size("4GiB"), 4.0 * (1 << 30));
  EXPECT_EQ(parse_byte_size("4gb"), 4.0 * (1 << 30));
  EXPECT_EQ(parse_byte_size("512M"), 512.0 * (1 << 20));
  EXPECT_EQ(parse_byte_size("1.5G"), 1.5 * (1 << 30));
  EXPECT_EQ(parse_byte_size("64KiB"), 65536.0);
  EXPECT_EQ(parse_byte_size("2T"), 2.0 * 1024 * 1024 * 1024 * 1024);
  for (const char* bad : {"", "G", "-1G", "+4G", " 4G", "4G ", "4 G", "4X", "4GG", "1e9", "0x10", "inf", "0",
                          "0G", "1.5", "1..5G", "4Gi"}) {
    EXPECT_EQ(parse_byte_size(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(MemoryEstimate, RefusalNamesTheShapeTheEstimateAndTheWayOut) {
  AttentionSpec spec;
  spec.shape = {1, 8, 8, 4096, 4096, 128, 128};
  OracleOptions options;
  const MemoryEstimate e = estimate_memory(spec, options, InputForm::stored);
  try {
    require_within_limit(spec, e, kDefaultMemoryLimit, "raise it with --flag");
    FAIL() << "not refused";
  } catch (const MemoryLimitError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("B=1 H=8 (kv heads 8) Lq=4096 Lk=4096 D=128 Dv=128"), std::string::npos) << message;
    EXPECT_NE(message.find("on 32768 of 32768 rows would need about " + format_bytes(e.total())), std::string::npos)
        << message;
    EXPECT_NE(message.find("more than the limit of 2 GiB; raise it with --flag"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(require_within_limit(spec, e, e.total(), ""));
}

TEST(MemoryEstimate, FormatsBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(2.0 * (1 << 30)), "2 GiB");
  EXPECT_EQ(format_bytes(320.0 * (1 << 20)), "320 MiB");
}

}  // namespace
}  // namespace attncheck::oracle
