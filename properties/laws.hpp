// Every law of the suite, by family (docs/properties.md has the table: law, what it checks,
// its bound, and the mutant that proves it can fail). One file per family.
#pragma once

#include <string_view>
#include <vector>

#include "law.hpp"

namespace attncheck::properties {

std::vector<Law> row_stochasticity_laws();      // law_row_stochasticity.cpp
std::vector<Law> mask_leakage_laws();           // law_mask_leakage.cpp
std::vector<Law> scaling_variance_laws();       // law_scaling_variance.cpp
std::vector<Law> accuracy_laws();               // law_accuracy.cpp
std::vector<Law> algorithm_equivalence_laws();  // law_equivalence_algorithms.cpp: tiles, decode, threads
std::vector<Law> structural_equivalence_laws(); // law_equivalence_structure.cpp: heads, batches, permutations, shifts, linearity
std::vector<Law> statistical_accuracy_laws();   // law_statistical_accuracy.cpp: error distribution held to a band

// All of them, in the order above.
const std::vector<Law>& all_laws();
// By id ("MaskLeakage.ChangingInvisibleKeysLeavesOutputBitIdentical"); throws when unknown.
const Law& find_law(std::string_view id);

}  // namespace attncheck::properties
