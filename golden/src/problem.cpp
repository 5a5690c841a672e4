#include "attncheck/golden/problem.hpp"


#include "attncheck/oracle/exact_decimal.hpp"

namespace attncheck::golden {

using formats::InputError;
using formats::JsonReader;
using formats::ProblemFile;

ProblemFile read_golden_problem(const JsonReader& r, const std::vector<std::string>& extra_members) {
  const JsonReader shape = r.at("shape");
  for (const char* key : {"batch", "q_heads", "kv_heads", "q_len", "kv_len", "head_dim", "value_dim"}) {
    if (shape.has(key)) shape.at(key).integer(1, kMaxGoldenDimension);
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
