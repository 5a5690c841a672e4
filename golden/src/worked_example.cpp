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

// The seed leaves dL/dY[3] = g_3 symbolic ("assume dL/dY[3] = g_3 (the gradient at the last
// position)"); attncheck chooses g_3 = [1, -0.5, 0.25, -0.125], exact in f32, f16 and bf16 so
// that every dtype's kernels see the same dO, with dO = 0 at positions 0 to 2, as the seed's
// loss at the last position only gives. The dense dO keeps g_3 at row 3 and puts eighths in
// rows 0 to 2, so that every row's chain is exercised (row 0, which sees only itself, has
// dS = 0 whatever dO is: P = [1] and dP_0 = D).
ProblemFile worked_example_backward(WorkedExampleDo which) {
  ProblemFile file = worked_example();
  const std::vector<std::string> g3 = {"1", "-0.5", "0.25", "-0.125"};
  std::vector<std::string> texts;
  if (which == WorkedExampleDo::last_position) {
    texts = {"0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"};
  } else {
    texts = {"0.25", "-0.5", "0.75", "0.125", "-0.375", "0.5", "0.25", "-0.625", "0.5", "0.125", "-0.25", "0.375"};
  }
  texts.insert(texts.end(), g3.begin(), g3.end());
  file.do_text = texts;
  file.problem.d_out.clear();
  for (const std::string& t : texts) file.problem.d_out.push_back(oracle::decimal_to_dtype(t, file.problem.dtype));
  validate(file.problem);
  return file;
}

}  // namespace attncheck::golden
