// The attention problem inside a golden file: read with the problem-file reader, after a
// guard that keeps golden problems small (each dimension <= 64), so that no hostile or
// corrupted shape can ask for a huge allocation or overflow an element count. Written back with
// formats::append_problem_json.
#pragma once

#include "attncheck/formats/json_input.hpp"
#include "attncheck/formats/problem_file.hpp"

namespace attncheck::golden {

inline constexpr int64_t kMaxGoldenDimension = 64;

// read_problem plus the size guard and validate(Problem); every failure is an InputError
// naming the source and field. `extra_members` as for formats::read_problem.
formats::ProblemFile read_golden_problem(const formats::JsonReader& reader,
                                         const std::vector<std::string>& extra_members = {});

}  // namespace attncheck::golden
