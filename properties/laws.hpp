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
// The gradient laws (issue 18), for kernels with a backward (kBackward):
std::vector<Law> gradient_identity_laws();      // law_gradient_identities.cpp: dK, dV sums, <dQ,Q> = <dK,K>, linearity (laws 1, 2, 3, 5)
std::vector<Law> gradient_masking_laws();       // law_gradient_masking.cpp: unseen keys, empty rows (law 4)
std::vector<Law> gradient_accuracy_laws();      // law_gradient_accuracy.cpp: a-priori bound, twice dense (law 6)
std::vector<Law> gradient_equivalence_laws();   // law_gradient_equivalence.cpp: tiles, threads, GQA (law 7)
std::vector<Law> gradient_scale_laws();         // law_gradient_scale.cpp: the scale survives backward (law 8)
std::vector<Law> vanishing_gradient_laws();     // law_vanishing_gradient.cpp: the 1/sqrt(D) trap (law 9)

// All of them, in the order above.
const std::vector<Law>& all_laws();
// By id ("MaskLeakage.ChangingInvisibleKeysLeavesOutputBitIdentical"); throws when unknown.
const Law& find_law(std::string_view id);

}  // namespace attncheck::properties
