// The attention problem inside a golden file: read with the problem-file reader, after a
// guard that keeps golden problems small (each dimension <= 1024, and at most 2^18 elements in
// any of q, k, v and the score matrix, which a trace stores per key of every row), so that no
// hostile or corrupted shape can ask for a huge allocation or overflow an element count. Written back with
// formats::append_problem_json.
#pragma once

#include "attncheck/formats/json_input.hpp"
#include "attncheck/formats/problem_file.hpp"

namespace attncheck::golden {

inline constexpr int64_t kMaxGoldenDimension = 1024;
inline constexpr int64_t kMaxGoldenElements = int64_t{1} << 18;

// read_problem plus the size guard and validate(Problem); every failure is an InputError
// naming the source and field. `extra_members` as for formats::read_problem.
formats::ProblemFile read_golden_problem(const formats::JsonReader& reader,
                                         const std::vector<std::string>& extra_members = {});

}  // namespace attncheck::golden
