// Oracle traces: generation is deterministic, the canonical set covers what it must, and the
// strict reader names the field of every inconsistency.
#include "attncheck/golden/trace.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "attncheck/golden/canonical.hpp"
#include "golden_test_support.hpp"

namespace attncheck::golden {

using formats::InputError;
using formats::Json;
using formats::JsonReader;
using formats::ProblemFile;
using formats::parse_json_text;
using formats::read_json_file;
using formats::read_problem_document;

namespace {

using testing::expect_trace_error;
using testing::spec_named;


TEST(TraceGeneration, TheSameSpecGivesTheSameBytes) {
  const auto specs = canonical_traces();
  const TraceSpec& spec = spec_named(specs, "gqa_bf16");
  EXPECT_EQ(generate_trace(spec).text, generate_trace(spec).text);
}

TEST(TraceGeneration, EveryCanonicalTraceReadsBackAsAProblemFileAndAsATrace) {
  for (const TraceSpec& spec : canonical_traces()) {
    const GeneratedTrace generated = generate_trace(spec);
    const std::string path = "traces/" + spec.name + ".json";
    const Json json = parse_json_text(generated.text, path);
    const GoldenTrace trace = read_trace(json, path);
    EXPECT_EQ(trace.spec.problem.problem.spec, spec.problem.problem.spec) << spec.name;
    EXPECT_EQ(trace.spec.problem.problem.q, spec.problem.problem.q) << spec.name;
    EXPECT_EQ(trace.spec.problem.problem.v, spec.problem.problem.v) << spec.name;
    // `attncheck trace FILE` reads a trace as a problem file (of the trace's format).
    const ProblemFile as_problem = read_problem_document(JsonReader(json, path));
    EXPECT_EQ(as_problem.problem.k, spec.problem.problem.k) << spec.name;
    EXPECT_EQ(as_problem.exact_decimal_inputs, spec.problem.exact_decimal_inputs) << spec.name;
  }
}

// The list, checked on the problems themselves rather than on their labels.
TEST(TraceGeneration, TheCanonicalSetCoversEveryRequiredFeatureAndDtype) {
  std::set<std::string> seen;
  std::vector<int64_t> decode_lengths;
  for (const TraceSpec& t : canonical_traces()) {
    const Problem& p = t.problem.problem;
    const AttentionSpec& s = p.spec;
    const AttentionShape& sh = s.shape;
    seen.insert(std::string(dtype_name(p.dtype)));
    if (s.causal && sh.q_len < sh.kv_len) seen.insert("causal lq<lk");
    if (s.has_valid_keys) seen.insert("padding");
    for (int32_t n : p.valid_keys) {
      if (s.has_valid_keys && n == 0) seen.insert("valid length 0");
    }
    if (s.window_left >= 0 || s.window_right >= 0) seen.insert("window");
    if (s.mask == MaskKind::shared) seen.insert("mask shared");
    if (s.mask == MaskKind::per_head) seen.insert("mask per head");
    if (sh.kv_heads > 1 && sh.kv_heads < sh.q_heads) seen.insert("gqa");
    if (sh.kv_heads == 1 && sh.q_heads > 1) seen.insert("mqa");
    if (s.has_alibi) seen.insert("alibi");
    for (int64_t b = 0; b < sh.batch; ++b) {
      for (int64_t h = 0; h < sh.q_heads; ++h) {
        for (int64_t i = 0; i < sh.q_len; ++i) {
          if (visible_key_range(s, p.visibility(), b, i).empty()) seen.insert("fully masked row");
          bool any = false;
          for (int64_t j = 0; j < sh.kv_len; ++j) any = any || key_visible(s, p.visibility(), b, h, i, j);
          if (!any && s.mask != MaskKind::none) seen.insert("fully masked row (mask)");
        }
      }
    }
    if (t.decode) {
      EXPECT_TRUE(s.causal);
      EXPECT_EQ(sh.q_len, 1);
      EXPECT_LE(sh.kv_len, t.decode->cache_capacity);
      decode_lengths.push_back(sh.kv_len);
    }
    // The worked examples cite their publications by title (canonical.cpp).
    if (t.source.find("LYNX CORTEX") != std::string::npos) seen.insert("seed 001");
    if (t.source.find("Attention Mechanism Math") != std::string::npos) seen.insert("seed 004");
  }
  for (const char* required : {"f32", "f16", "bf16", "causal lq<lk", "padding", "valid length 0", "window",
                               "mask shared", "mask per head", "gqa", "mqa", "alibi", "fully masked row",
                               "fully masked row (mask)", "seed 001", "seed 004"}) {
    EXPECT_TRUE(seen.count(required)) << "no canonical trace has " << required;
  }
  ASSERT_EQ(decode_lengths.size(), 3u);
  EXPECT_EQ(decode_lengths[1], decode_lengths[0] + 1);
  EXPECT_EQ(decode_lengths[2], decode_lengths[0] + 2);
}

TEST(TraceGeneration, StoredInputsAreExactInEveryDtypeSoEveryKernelCanCheckThem) {
  for (const TraceSpec& t : canonical_traces()) {
    if (t.problem.exact_decimal_inputs) continue;
    for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      Problem p = t.problem.problem;
      p.dtype = dtype;
      EXPECT_NO_THROW(validate(p)) << t.name << " in " << dtype_name(dtype);
    }
  }
}


TEST(TraceReader, AcceptsAComment) {
  const std::string path = (testing::golden_source_dir() / "traces" / "padding_f16.json").string();
  Json json = read_json_file(path);
  json["comment"] = "a note for a person";
  EXPECT_EQ(read_trace(json, path).spec.name, "padding_f16");
}

TEST(TraceReader, NamesTheFieldOfEveryInconsistency) {
  const std::string padding = "padding_f16";  // batch 1 sees no key: rows 2 and 3
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][0]["visible"][4] = 0; },
                     "forward.rows[0].visible[4]");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][0]["lse"][0] = "0.50"; },
                     "forward.rows[0].lse[0]");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][0]["lse"][1] = "12.5"; },
                     "forward.rows[0].lse[1]");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][0]["lse"] = "1"; }, "forward.rows[0].lse");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][2]["raw"][0] = Json::array({"1", "1"}); },
                     "forward.rows[2].raw[0]");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][2]["weights"][0] = Json::array({"1", "1"}); },
                     "forward.rows[2].weights[0]");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][2]["output"][1] = Json::array({"1", "1"}); },
                     "forward.rows[2].output[1]");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"].erase(5); }, "forward.rows");
  expect_trace_error(padding, [](Json& j) { j["forward"]["rows"][1]["i"] = 0; }, "forward.rows[1]");
  expect_trace_error(padding, [](Json& j) { j["backward"] = Json::object(); }, "backward.rows");
  expect_trace_error(padding, [](Json& j) { j["casual"] = true; }, "casual");  // a misspelt member
  expect_trace_error(padding, [](Json& j) { j["shape"]["heads"] = 2; }, "shape.heads");
  expect_trace_error(padding, [](Json& j) { j["decode"] = Json{{"sequence", "s"}, {"step", 0}, {"capacity", 8}}; },
                     "decode.capacity");
  expect_trace_error(padding, [](Json& j) { j["name"] = "other"; }, "name");
  expect_trace_error(padding, [](Json& j) { j["oracle"]["pin_check_bits"] = 128; }, "oracle.pin_check_bits");
  expect_trace_error("mqa_f32", [](Json& j) { j["shape"]["kv_len"] = 3; }, "k");
  expect_trace_error(padding, [](Json& j) { j["shape"]["kv_len"] = 4; }, "valid_keys[0]");
  expect_trace_error(padding, [](Json& j) { j["q"][0][0][0][0] = "x"; }, "q[0]");
  expect_trace_error(padding, [](Json& j) { j.erase("forward"); }, "forward");
  expect_trace_error("decode_gqa_f16_step1", [](Json& j) { j["decode"]["cache_capacity"] = 2; },
                     "decode.cache_capacity");
  expect_trace_error("decode_gqa_f16_step1", [](Json& j) { j["causal"] = false; }, "causal");
}

}  // namespace
}  // namespace attncheck::golden
