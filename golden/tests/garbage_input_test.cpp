// Truncated, corrupted and hostile golden files: the readers answer with an InputError that
// names the file, never a crash, a hang or another exception (the ASan/UBSan build makes the
// "never a crash" part meaningful). The libFuzzer target golden/fuzz/ explores further.
#include <gtest/gtest.h>

#include "attncheck/golden/published.hpp"
#include "attncheck/golden/regen.hpp"
#include "attncheck/golden/trace.hpp"
#include "attncheck/random_problem.hpp"
#include "golden_test_support.hpp"

namespace attncheck::golden {

using formats::InputError;
using formats::Json;
using formats::parse_json_text;

namespace {

namespace fs = std::filesystem;

enum class Outcome { read, input_error };

// Reads text as the golden file kind of `path`: only success or an InputError naming `path`
// is acceptable; anything else fails the test.
Outcome read_as_golden(const std::string& text, const fs::path& path) {
  const std::string name = path.string();
  try {
    const Json json = parse_json_text(text, name);
    if (path.parent_path().filename() == "published") {
      const PublishedFile file = read_published(json, name);
      check_published(file);  // evaluation errors must be InputErrors too
    } else {
      read_trace(json, name);
    }
    return Outcome::read;
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), name) << e.what();
    return Outcome::input_error;
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": " << typeid(e).name() << " instead of an InputError: " << e.what();
  } catch (...) {
    ADD_FAILURE() << name << ": a non-standard exception";
  }
  return Outcome::input_error;
}

std::vector<fs::path> every_golden_file() {
  std::vector<fs::path> files;
  for (const char* sub : {"traces", "published"}) {
    for (const fs::path& p : golden_json_files(testing::golden_source_dir() / sub)) files.push_back(p);
  }
  return files;
}

// Deterministic cut points: the edges and an even spread; each cut leaves invalid JSON.
TEST(GarbageInput, EveryTruncationOfEveryGoldenFileIsAnInputErrorNamingTheFile) {
  for (const fs::path& path : every_golden_file()) {
    const std::string text = testing::read_file(path);
    ASSERT_EQ(read_as_golden(text, path), Outcome::read) << path;
    std::vector<size_t> cuts = {0, 1, 2, text.size() / 2, text.size() - 2, text.size() - 3};
    for (size_t n = 1; n <= 24; ++n) cuts.push_back(text.size() * n / 25);
    for (size_t cut : cuts) {
      EXPECT_EQ(read_as_golden(text.substr(0, cut), path), Outcome::input_error) << path << " cut at " << cut;
    }
  }
}

// Byte flips at deterministic positions: each must read or be an InputError naming the file.
TEST(GarbageInput, ByteFlipsInEveryGoldenFileNeverCrash) {
  SplitMix64 rng(20261126);
  int errors = 0, reads = 0;
  for (const fs::path& path : every_golden_file()) {
    const std::string text = testing::read_file(path);
    for (int flip = 0; flip < 24; ++flip) {
      std::string corrupt = text;
      const size_t at = static_cast<size_t>(rng.below(static_cast<int64_t>(text.size())));
      const char replacements[] = {'\0', '"', '[', ']', '{', '}', ',', ':', '-', '9', 'e', '.', '\xff', ' '};
      corrupt[at] = replacements[rng.below(sizeof replacements)];
      (read_as_golden(corrupt, path) == Outcome::read ? reads : errors) += 1;
    }
  }
  std::printf("byte flips: %d rejected with an InputError, %d still valid\n", errors, reads);
  EXPECT_GT(errors, 0);
}

TEST(GarbageInput, HostileDocumentsAreInputErrors) {
  const fs::path trace = testing::golden_source_dir() / "traces" / "x.json";
  const fs::path published = testing::golden_source_dir() / "published" / "x.json";
  const std::vector<std::string> hostile = {
      "",
      "null",
      "[]",
      std::string(100000, '['),
      "{\"format\": \"attncheck-golden-trace\", \"version\": 99999999999999999999999}",
      "{\"format\": 1}",
      R"({"format": "attncheck-golden-trace", "version": 1, "name": "x", "description": "", "source": "",
          "covers": [], "shape": {"q_len": 99999999999, "kv_len": 1, "head_dim": 1}})",
      R"({"format": "attncheck-golden-trace", "version": 1, "name": "x", "description": "", "source": "",
          "covers": [], "shape": {"batch": 64, "q_heads": 64, "q_len": 64, "kv_len": 64, "head_dim": 64},
          "q": [], "k": [], "v": []})",
      "\xef\xbb\xbf{}",
      "{\"a\": \"\\ud800\"}",
  };
  for (const std::string& text : hostile) {
    EXPECT_EQ(read_as_golden(text, trace), Outcome::input_error) << text.substr(0, 80);
    EXPECT_EQ(read_as_golden(text, published), Outcome::input_error) << text.substr(0, 80);
  }
  const std::string base = R"({"format": "attncheck-golden-published", "version": 1, "title": "t", "source": "s",
      "inputs": "i", "precision_bits": 256, "quantities": [{"id": "q", "where": "w", "published": "1",
      "decimals": 0, "expr": )";
  for (const char* expr : {"\"10^10^10^10\"", "\"log(0) * 0\"", "\"1 / 0\"", "\"[1][0.5]\"", "\"[1][-1]\"",
                                  "\"floor(1e99999)\"", "\"entropy([-1])\"", "\"max([])\"", "\"sum(1)\"",
                                  "\"1e99999999999\"", "\"nosuch.weights[0][0]\"", "\"((((((1))))))\""}) {
    read_as_golden(base + expr + "}]}", published);  // any InputError or a value; never a crash
  }
}

}  // namespace
}  // namespace attncheck::golden
