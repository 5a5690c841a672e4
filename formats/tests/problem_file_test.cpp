// Problem files: what reads, what round-trips, and the error for each kind of bad input.
#include "attncheck/formats/problem_file.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "attncheck/half.hpp"
#include "attncheck/random_problem.hpp"

namespace attncheck::formats {
namespace {

ProblemFile parse(const std::string& text) {
  return read_problem(JsonReader(parse_json_text(text, "test.json"), "test.json"));
}

// Expects parsing to fail with an InputError naming `field` in test.json.
void expect_error(const std::string& text, const std::string& field) {
  try {
    parse(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), "test.json") << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

const std::string kMinimal =
    R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, 2], "k": [[1, 0], [0, 1]], "v": [3, 4, 5, 6]})";

TEST(ProblemFile, ReadsAMinimalFileWithDefaults) {
  const ProblemFile f = parse(kMinimal);
  EXPECT_EQ(f.problem.dtype, DType::f32);
  EXPECT_EQ(f.problem.spec.shape.batch, 1);
  EXPECT_EQ(f.problem.spec.shape.value_dim, 2);
  EXPECT_FALSE(f.problem.spec.causal);
  EXPECT_EQ(f.problem.v, (std::vector<float>{3, 4, 5, 6}));
}

// In stored mode the values are what the oracle reads, so the reader keeps no text for q, k, v
// (a long problem would hold a std::string per value).
TEST(ProblemFile, StoredInputsKeepValuesNotText) {
  const ProblemFile f = parse(
      R"({"dtype": "f32", "shape": {"q_len": 1, "kv_len": 2, "head_dim": 1}, "q": [0.5], "k": [1, 2],
          "v": [3, 4]})");
  EXPECT_FALSE(f.exact_decimal_inputs);
  EXPECT_TRUE(f.q_text.empty() && f.k_text.empty() && f.v_text.empty());
  EXPECT_EQ(f.problem.k, (std::vector<float>{1, 2}));
}

TEST(ProblemFile, KeepsDecimalTextAndRoundsStoredValuesOnce) {
  const ProblemFile f = parse(
      R"({"dtype": "f16", "inputs": "exact_decimal", "shape": {"q_len": 1, "kv_len": 1, "head_dim": 1},
          "q": [0.1], "k": ["1.00048828125"], "v": [1e-1]})");
  EXPECT_TRUE(f.exact_decimal_inputs);
  EXPECT_EQ(f.q_text[0], "0.1");
  EXPECT_EQ(f.v_text[0], "1e-1");
  EXPECT_EQ(f.problem.q[0], round_to_f16(0.1f));
  // 1 + 2^-11 is an exact tie in f16: to even, 1.0 (a double-rounding path could differ).
  EXPECT_EQ(f.problem.k[0], 1.0f);
}

TEST(ProblemFile, WritesAProblemThatReadsBackIdentically) {
  AttentionSpec spec;
  spec.shape = {2, 4, 2, 3, 5, 8, 4};
  spec.causal = true;
  spec.window_left = 2;
  spec.has_valid_keys = true;
  spec.mask = MaskKind::per_head;
  spec.has_alibi = true;
  spec.scale = 0.3;
  Problem p = make_random_problem(spec, DType::bf16, 17);
  p.v[3] = NAN;  // non-finite values survive as strings
  const std::string text = problem_to_json(p, "round trip").dump();
  const ProblemFile back = parse(text);
  EXPECT_EQ(back.name, "round trip");
  EXPECT_EQ(back.problem.spec, p.spec);
  EXPECT_EQ(back.problem.q, p.q);
  EXPECT_EQ(back.problem.k, p.k);
  EXPECT_TRUE(std::isnan(back.problem.v[3]));
  back.problem.v[3] == back.problem.v[3] ? ADD_FAILURE() : void();
  EXPECT_EQ(back.problem.mask, p.mask);
  EXPECT_EQ(back.problem.valid_keys, p.valid_keys);
  EXPECT_EQ(back.problem.alibi_slopes, p.alibi_slopes);
}

// The upstream gradient of a backward check: read, validated and written back like v.
TEST(ProblemFile, ReadsAndWritesTheUpstreamGradientDo) {
  const ProblemFile f = parse(
      R"({"dtype": "f16", "shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, 2], "k": [1, 0, 0, 1],
          "v": [3, 4, 5, 6], "do": [0.1, -2]})");
  EXPECT_EQ(f.problem.d_out, (std::vector<float>{round_to_f16(0.1f), -2.0f}));
  EXPECT_TRUE(parse(kMinimal).problem.d_out.empty());
  AttentionSpec spec;
  spec.shape = {1, 2, 1, 3, 4, 2, 5};
  Problem p = make_random_problem(spec, DType::bf16, 3);
  add_random_d_out(p, 4);
  const ProblemFile back = parse(problem_to_json(p, "with do").dump());
  EXPECT_EQ(back.problem.d_out, p.d_out);
  ProblemFile file;
  file.problem = p;
  OrderedJson canonical = OrderedJson::object();
  append_problem_json(file, canonical);
  EXPECT_EQ(parse(canonical.dump()).problem.d_out, p.d_out);
  // dO has O's shape [batch, q_heads, q_len, value_dim] and the problem's dtype.
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, 2], "k": [1, 0, 0, 1],
                   "v": [3, 4, 5, 6], "do": [1]})", "do");
  expect_error(R"({"dtype": "f16", "shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, 2], "k": [1, 0, 0, 1],
                   "v": [3, 4, 5, 6], "do": [1, 70000]})", "do[1]");
}

TEST(ProblemFile, NamesTheFieldOfEveryKindOfBadInput) {
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, 2], "k": [1, 0, 0, 1]})", "v");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, 2, 3], "k": [1, 0, 0, 1], "v": [1, 2, 3, 4]})", "q");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 2}, "q": [1, "x"], "k": [1, 0, 0, 1], "v": [1, 2, 3, 4]})", "q[1]");
  expect_error(R"({"shape": {"q_len": 0, "kv_len": 2, "head_dim": 2}, "q": [], "k": [], "v": []})", "shape.q_len");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 2, "q_heads": 3, "kv_heads": 2}, "q": [], "k": [], "v": []})", "shape.kv_heads");
  expect_error(R"({"dtype": "f64", "shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "q": [1], "k": [1], "v": [1]})", "dtype");
  expect_error(R"({"dtype": "f16", "shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "q": [70000], "k": [1], "v": [1]})", "q[0]");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "scale": -1, "q": [1], "k": [1], "v": [1]})", "scale");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "scale": "abc", "q": [1], "k": [1], "v": [1]})", "scale");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 1}, "valid_keys": [3], "q": [1], "k": [1, 2], "v": [1, 2]})", "valid_keys[0]");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 1}, "mask": [1, 2], "q": [1], "k": [1, 2], "v": [1, 2]})", "mask[1]");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "causal": 1, "q": [1], "k": [1], "v": [1]})", "causal");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "q": [[[[[[[[[[1]]]]]]]]]], "k": [1], "v": [1]})",
               "q[0][0][0][0][0][0][0][0][0]");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "q": [1], "k": [1], "v": [1], "inputs": "exact"})", "inputs");
  expect_error(R"({"q": [1], "k": [1], "v": [1]})", "shape");
  expect_error(R"([1, 2])", "");  // the top level itself is not an object
}

// A member the reader does not know is an error naming it: a misspelt "causal" must not run the
// case without its mask.
TEST(ProblemFile, AnUnknownMemberIsAnErrorNamingIt) {
  const std::string shape = R"("shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "q": [1], "k": [1], "v": [1])";
  expect_error("{" + shape + R"(, "casual": true})", "casual");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1, "heads": 2}, "q": [1], "k": [1], "v": [1]})",
               "shape.heads");
  // The members of a failing case belong to its format.
  expect_error("{" + shape + R"(, "note": "x"})", "note");
  try {
    read_problem_document(JsonReader(parse_json_text("{" + shape + R"(, "casual": true})", "p.json"), "p.json"));
    ADD_FAILURE() << "accepted casual";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "p.json: field 'casual': unknown member");
  }
}

TEST(ProblemFile, AcceptsACommentAndTheMembersOfItsFormat) {
  const std::string shape = R"("shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "q": [1], "k": [1], "v": [1])";
  EXPECT_EQ(parse("{" + shape + R"(, "comment": "why this case exists"})").problem.q, std::vector<float>{1});
  expect_error("{" + shape + R"(, "comment": 1})", "comment");
  const auto document = [](const std::string& text) {
    return read_problem_document(JsonReader(parse_json_text(text, "test.json"), "test.json"));
  };
  const ProblemFile failing = document("{" + shape + R"(, "format": "attncheck-failing-case", "note": "law x",
      "failing_rows": [{"batch": 0, "head": 0, "query": 0}]})");
  EXPECT_EQ(failing.problem.k, std::vector<float>{1});
  // A failing case's members are not a trace's, and a format that holds no problem is named.
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {"{" + shape + R"(, "format": "attncheck-failing-case", "covers": []})", "covers"},
           {"{" + shape + R"(, "format": "attncheck-golden-trace", "note": ""})", "note"},
           {"{" + shape + R"(, "format": "attncheck-golden-published"})", "format"}}) {
    try {
      document(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
      EXPECT_EQ(e.field(), field) << e.what();
    }
  }
}

// Three mistakes the reader used to accept silently, each now an error naming the field: a
// member given twice (the DOM kept the last), ragged nested arrays (flattened into the right
// count of numbers in the wrong places), and mask_kind without a mask (ignored: no mask ran).
TEST(ProblemFile, DuplicateMembersRaggedArraysAndAMaskKindWithoutAMaskAreErrors) {
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1}, "causal": false, "causal": true,
                  "q": [1], "k": [1], "v": [1]})", "causal");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 1, "head_dim": 1, "q_len": 2}, "q": [1], "k": [1], "v": [1]})",
               "q_len");
  expect_error(R"({"shape": {"q_len": 2, "kv_len": 2, "head_dim": 2}, "q": [[1, 2, 3], [4]], "k": [1, 0, 0, 1],
                  "v": [1, 2, 3, 4]})", "q[1]");
  expect_error(R"({"shape": {"q_len": 2, "kv_len": 2, "head_dim": 2}, "q": [[1, 2], [3, 4]], "k": [[1, 0], [0, [1]]],
                  "v": [1, 2, 3, 4]})", "k[1][1]");
  expect_error(R"({"shape": {"q_len": 1, "kv_len": 2, "head_dim": 1}, "mask_kind": "per_head", "q": [1], "k": [1, 2],
                  "v": [1, 2]})", "mask_kind");
  // Rectangular nesting still reads, row-major.
  const ProblemFile ok = parse(R"({"shape": {"q_len": 2, "kv_len": 2, "head_dim": 2}, "q": [[1, 2], [3, 4]],
                                   "k": [1, 0, 0, 1], "v": [[1, 2], [3, 4]]})");
  EXPECT_EQ(ok.problem.q, (std::vector<float>{1, 2, 3, 4}));
}

TEST(ProblemFile, ADirectoryIsReportedAsOneNotAsInvalidJson) {
  try {
    read_problem_file(".");
    FAIL() << "a directory was read";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), ".");
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

TEST(ProblemFile, SyntaxErrorsAndMissingFilesNameTheFile) {
  try {
    parse_json_text("{\"shape\": ", "broken.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), "broken.json");
    EXPECT_NE(std::string(e.what()).find("invalid JSON"), std::string::npos);
  }
  EXPECT_THROW(read_problem_file("/nonexistent/x.json"), InputError);
}

}  // namespace
}  // namespace attncheck::formats
