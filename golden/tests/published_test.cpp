// Published worked examples: the matching rule, errata bookkeeping, and the reader's errors.
#include "attncheck/golden/published.hpp"

#include <gtest/gtest.h>

#include "attncheck/golden/regen.hpp"
#include "golden_test_support.hpp"

namespace attncheck::golden {

using formats::InputError;
using formats::Json;
using formats::parse_json_text;
using formats::read_json_file;

namespace {

Json minimal_file(const Json& quantities) {
  Json doc = Json::object();
  doc["format"] = "attncheck-golden-published";
  doc["version"] = 1;
  doc["title"] = "test";
  doc["source"] = "test seed";
  doc["inputs"] = "decimal strings";
  doc["precision_bits"] = 256;
  doc["quantities"] = quantities;
  return doc;
}

Json quantity(const std::string& expr, const std::string& published, int decimals) {
  return Json{{"id", "q"}, {"where", "here"}, {"expr", expr}, {"published", published}, {"decimals", decimals}};
}

// The verdict on one quantity, in a file of its own.
Verdict verdict_of(const Json& q) {
  const PublishedFile file = read_published(minimal_file(Json::array({q})), "test.json");
  return check_published(file).results.at(0).verdict;
}

// Expects reading to fail with an InputError naming `field` of test.json.
void expect_reader_error(const Json& doc, const std::string& field) {
  try {
    check_published(read_published(doc, "test.json"));
    ADD_FAILURE() << "accepted: " << doc.dump();
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), "test.json") << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

TEST(PublishedMatch, AValueMatchesWithinHalfAUnitInItsLastPlace) {
  EXPECT_EQ(verdict_of(quantity("0.0376", "0.038", 3)), Verdict::matches);
  EXPECT_EQ(verdict_of(quantity("0.0384", "0.038", 3)), Verdict::matches);
  EXPECT_EQ(verdict_of(quantity("0.0374999", "0.038", 3)), Verdict::unrecorded_mismatch);
  EXPECT_EQ(verdict_of(quantity("0.0385001", "0.038", 3)), Verdict::unrecorded_mismatch);
}

TEST(PublishedMatch, AnExactHalfCountsAsAMatchInEitherDirection) {
  // 0.0375 is exactly between 0.037 and 0.038: both roundings were correct.
  EXPECT_EQ(verdict_of(quantity("0.3 / 8", "0.038", 3)), Verdict::matches);
  EXPECT_EQ(verdict_of(quantity("0.3 / 8", "0.037", 3)), Verdict::matches);
  // Decimal inputs are not exact in binary: the tie holds through the oracle's rounding.
  EXPECT_EQ(verdict_of(quantity("0.25 * 0.30 / 2", "0.038", 3)), Verdict::matches);
}

TEST(PublishedMatch, DecimalsCanBeNegativeAndInfinitiesMatchOnlyThemselves) {
  EXPECT_EQ(verdict_of(quantity("2048^2 * 64", "268e6", -6)), Verdict::matches);
  EXPECT_EQ(verdict_of(quantity("2048^2 * 64", "269e6", -6)), Verdict::unrecorded_mismatch);
  EXPECT_EQ(verdict_of(quantity("-inf", "-inf", 0)), Verdict::matches);
  EXPECT_EQ(verdict_of(quantity("-inf", "inf", 0)), Verdict::unrecorded_mismatch);
  EXPECT_EQ(verdict_of(quantity("-1e9", "-inf", 0)), Verdict::unrecorded_mismatch);
}

TEST(PublishedMatch, AStatedToleranceOrRelationReplacesTheRoundingRule) {
  Json q = quantity("1.00001", "1.0", 1);
  q["tolerance"] = "0.00001001";
  EXPECT_EQ(verdict_of(q), Verdict::matches);
  q["expr"] = "1.0000101";
  EXPECT_EQ(verdict_of(q), Verdict::unrecorded_mismatch);
  Json r{{"id", "q"}, {"where", "w"}, {"expr", "entropy([1/3, 1/3, 1/3]) - entropy([0.98, 0.01, 0.01])"},
         {"published", "0"}, {"relation", ">"}};
  EXPECT_EQ(verdict_of(r), Verdict::matches);
  r["relation"] = "<";
  EXPECT_EQ(verdict_of(r), Verdict::unrecorded_mismatch);
}

TEST(PublishedErrata, AnErratumIsAcceptedOnlyWhileTheValueMismatchesAndRecordsTheOraclesValue) {
  Json q = quantity("dot([0.50, 0.30, -0.20, 0.10], [-0.10, 0.40, 0.20, -0.30])", "-0.04", 2);
  EXPECT_EQ(verdict_of(q), Verdict::unrecorded_mismatch);
  q["erratum"] = {{"oracle", "0.00"}, {"cause", "0.30 x 0.40 taken as 0.08"}};
  EXPECT_EQ(verdict_of(q), Verdict::recorded_erratum);
  q["erratum"]["oracle"] = "0.01";
  EXPECT_EQ(verdict_of(q), Verdict::wrong_erratum);
  q["published"] = "0.00";
  q["erratum"]["oracle"] = "0.00";
  EXPECT_EQ(verdict_of(q), Verdict::stale_erratum);
}

TEST(PublishedErrata, ADerivedValueMustBeTheOracles) {
  Json q{{"id", "q"}, {"where", "w"}, {"expr", "24 * 2 * 16 * 2048 * 64 * 2 / 2^20"}, {"derived", "192.00"},
         {"note", "not printed in the seed"}};
  EXPECT_EQ(verdict_of(q), Verdict::matches);
  q["derived"] = "192.01";
  EXPECT_EQ(verdict_of(q), Verdict::wrong_derived);
}

TEST(PublishedReader, AcceptsACommentAtTheTopAndInAProblem) {
  Json doc = minimal_file(Json::array({quantity("ex.O[0][0]", "1", 0)}));
  doc["comment"] = "a note for a person";
  doc["attention"] = Json{{"ex", Json::parse(R"({"comment": "one key", "shape": {"q_len": 1, "kv_len": 1,
                                                   "head_dim": 1}, "q": ["1"], "k": ["1"], "v": ["1"]})")}};
  EXPECT_EQ(check_published(read_published(doc, "test.json")).failures(), 0);
}

TEST(PublishedReader, NamesTheFieldOfEveryBadInput) {
  expect_reader_error(minimal_file(Json::array({quantity("1", "1.0", 2)})), "quantities[0].decimals");
  expect_reader_error(minimal_file(Json::array({quantity("1 +", "1", 0)})), "quantities[0].expr");
  expect_reader_error(minimal_file(Json::array({quantity("nosuch", "1", 0)})), "quantities[0].expr");
  expect_reader_error(minimal_file(Json::array({quantity("1", "one", 0)})), "quantities[0].published");
  Json extra = quantity("1", "1", 0);
  extra["publised"] = "1";
  expect_reader_error(minimal_file(Json::array({extra})), "quantities[0].publised");
  Json neither{{"id", "q"}, {"where", "w"}, {"expr", "1"}};
  expect_reader_error(minimal_file(Json::array({neither})), "quantities[0]");
  Json doc = minimal_file(Json::array({quantity("1", "1", 0)}));
  doc["version"] = 2;
  expect_reader_error(doc, "version");
  doc = minimal_file(Json::array({quantity("1", "1", 0)}));
  doc["titel"] = "a misspelt member";
  expect_reader_error(doc, "titel");
  doc = minimal_file(Json::array({quantity("1", "1", 0)}));
  doc["attention"] = Json{{"ex", Json::parse(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1},
                                                   "casual": true, "q": [1], "k": [1], "v": [1]})")}};
  expect_reader_error(doc, "attention.ex.casual");
  doc = minimal_file(Json::array({quantity("1", "1", 0)}));
  doc.erase("source");
  expect_reader_error(doc, "source");
  doc = minimal_file(Json::array({quantity("1", "1", 0)}));
  doc["attention"] = {{"two_heads", parse_json_text(R"({"shape": {"q_heads": 2, "q_len": 1, "kv_len": 1,
      "head_dim": 1}, "q": [1, 2], "k": [1, 1], "v": [1, 1]})", "x")}};
  expect_reader_error(doc, "attention.two_heads.shape");
  doc["attention"] = {{"huge", parse_json_text(R"({"shape": {"q_len": 1000000000, "kv_len": 1,
      "head_dim": 1}, "q": [1], "k": [1], "v": [1]})", "x")}};
  expect_reader_error(doc, "attention.huge.shape.q_len");
  // MPFR would read " 0.1"; the oracle's exact-decimal reader does not (found by golden/fuzz).
  doc["attention"] = {{"spaced", parse_json_text(R"({"inputs": "exact_decimal", "shape": {"q_len": 1,
      "kv_len": 1, "head_dim": 1}, "q": [" 0.1"], "k": ["1"], "v": ["1"]})", "x")}};
  expect_reader_error(doc, "attention.spaced.q[0]");
}

// The files in the tree: every published value matches or is a recorded erratum.
TEST(PublishedFiles, EveryPublishedValueMatchesOrIsARecordedErratum) {
  int files = 0;
  for (const auto& path : golden_json_files(testing::golden_source_dir() / "published")) {
    const PublishedFile file = read_published_file(path.string());
    const PublishedCheck check = check_published(file);
    EXPECT_EQ(check.failures(), 0) << path;
    std::printf("%s: %zu published values, %d errata\n", path.filename().c_str(), check.results.size(),
                check.errata());
    ++files;
  }
  EXPECT_GE(files, 4);
}

const QuantityResult& result_for(const PublishedCheck& check, const std::string& id) {
  for (const QuantityResult& r : check.results) {
    if (r.quantity->id == id) return r;
  }
  throw std::runtime_error("no quantity " + id);
}

// The seed's X X^T (will, I) = -0.04 is wrong (the oracle says 0.00); the file records it.
// Without the record the check fails, and a record on a correct value fails too.
TEST(PublishedFiles, AnUnrecordedMismatchOrAStaleErratumFailsTheCheck) {
  const auto path = testing::golden_source_dir() / "published" / "seed001_length4_causal.json";
  Json doc = read_json_file(path.string());
  for (Json& q : doc["quantities"]) {
    if (q["id"] == "X X^T [will, I]") q.erase("erratum");
    if (q["id"] == "X X^T [I, I]") q["erratum"] = {{"oracle", "0.39"}, {"cause", "a stale record"}};
  }
  const PublishedFile file = read_published(doc, path.string());
  const PublishedCheck check = check_published(file);
  EXPECT_EQ(check.failures(), 2);
  EXPECT_EQ(result_for(check, "X X^T [will, I]").verdict, Verdict::unrecorded_mismatch);
  EXPECT_EQ(result_for(check, "X X^T [I, I]").verdict, Verdict::stale_erratum);
  // And the tie in the seed (-0.0025 printed -0.002) is a match, not an erratum.
  EXPECT_EQ(result_for(check, "scaled logits [I, work]").verdict, Verdict::matches);
}

}  // namespace
}  // namespace attncheck::golden
