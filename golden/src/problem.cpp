#include "attncheck/golden/problem.hpp"

#include <string>
#include <utility>

#include "attncheck/oracle/exact_decimal.hpp"

namespace attncheck::golden {

using formats::InputError;
using formats::JsonReader;
using formats::ProblemFile;

ProblemFile read_golden_problem(const JsonReader& r, const std::vector<std::string>& extra_members) {
  const JsonReader shape = r.at("shape");
  int64_t dims[7] = {1, 1, 1, 1, 1, 1, 0};
  const char* keys[7] = {"batch", "q_heads", "kv_heads", "q_len", "kv_len", "head_dim", "value_dim"};
  for (int n = 0; n < 7; ++n) {
    if (shape.has(keys[n])) dims[n] = shape.at(keys[n]).integer(1, kMaxGoldenDimension);
  }
  const auto [batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim_given] = dims;
  const int64_t value_dim = value_dim_given > 0 ? value_dim_given : head_dim;
  // Each factor is <= 1024, so no product of four overflows int64.
  const std::pair<const char*, int64_t> counts[] = {{"q", batch * q_heads * q_len * head_dim},
                                                    {"k", batch * kv_heads * kv_len * head_dim},
                                                    {"v", batch * kv_heads * kv_len * value_dim},
                                                    {"scores", batch * q_heads * q_len * kv_len}};
  for (const auto& [what, count] : counts) {
    if (count > kMaxGoldenElements) {
      shape.fail("the " + std::string(what) + " tensor of this shape holds " + std::to_string(count) +
                 " elements; golden problems hold at most " + std::to_string(kMaxGoldenElements));
    }
  }
  ProblemFile file = formats::read_problem(r, extra_members);
  if (file.exact_decimal_inputs) {
    // The oracle reads exact-decimal inputs as rationals, a stricter grammar than the one
    // read_problem checks (MPFR's, which allows leading spaces, for one): check it here, where
    // the field can still be named (found by golden/fuzz).
    const std::pair<const char*, const std::vector<std::string>*> tensors[] = {
        {"q", &file.q_text}, {"k", &file.k_text}, {"v", &file.v_text}, {"alibi_slopes", &file.slope_text}};
    for (const auto& [key, texts] : tensors) {
      for (size_t n = 0; n < texts->size(); ++n) {
        try {
          oracle::parse_decimal_exact((*texts)[n]);
        } catch (const std::invalid_argument&) {
          r.at(key).element_path(n).fail("'" + (*texts)[n] + "' is not a plain decimal number");
        }
      }
    }
    if (file.scale_text) {
      try {
        oracle::parse_decimal_exact(*file.scale_text);
      } catch (const std::invalid_argument&) {
        r.at("scale").fail("'" + *file.scale_text + "' is not a plain decimal number");
      }
    }
  }
  try {
    validate(file.problem);
  } catch (const SpecError& e) {
    throw InputError(r.source(), (r.path().empty() ? "" : r.path() + ".") + e.field(), e.message());
  }
  return file;
}

}  // namespace attncheck::golden
