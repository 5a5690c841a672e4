// The worked example of seed 001: "I will work ." embedded in d_model = 4, W_Q = W_K = 0.5 I
// and W_V = I, so Q = K = 0.5 X and V = X; single head, d_k = 4, causal.
#include "attncheck/golden/canonical.hpp"

namespace attncheck::golden {

using formats::JsonReader;
using formats::ProblemFile;

ProblemFile worked_example() {
  static const char* const kExample = R"json({
    "name": "seed 001: length-4 causal attention over \"I will work .\"",
    "dtype": "f32",
    "inputs": "exact_decimal",
    "shape": {"q_len": 4, "kv_len": 4, "head_dim": 4},
    "causal": true,
    "q": [[0.25, 0.15, -0.10, 0.05], [-0.05, 0.20, 0.10, -0.15], [0.10, -0.05, 0.25, 0.05], [0.00, 0.00, 0.00, 0.10]],
    "k": [[0.25, 0.15, -0.10, 0.05], [-0.05, 0.20, 0.10, -0.15], [0.10, -0.05, 0.25, 0.05], [0.00, 0.00, 0.00, 0.10]],
    "v": [[0.50, 0.30, -0.20, 0.10], [-0.10, 0.40, 0.20, -0.30], [0.20, -0.10, 0.50, 0.10], [0.00, 0.00, 0.00, 0.20]]
  })json";
  return formats::read_problem(JsonReader(formats::parse_json_text(kExample, "<built-in example>"), "<built-in example>"));
}

}  // namespace attncheck::golden
