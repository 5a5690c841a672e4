#include <stdexcept>
#include <string>

#include "laws.hpp"

namespace attncheck::properties {

const std::vector<Law>& all_laws() {
  static const std::vector<Law> laws = [] {
    std::vector<Law> all;
    for (auto family : {row_stochasticity_laws, mask_leakage_laws, scaling_variance_laws, accuracy_laws,
                        algorithm_equivalence_laws, structural_equivalence_laws,
                        statistical_accuracy_laws, gradient_identity_laws, gradient_masking_laws,
                        gradient_accuracy_laws, gradient_equivalence_laws,
                        gradient_scale_laws, vanishing_gradient_laws}) {
      for (Law& law : family()) all.push_back(std::move(law));
    }
    return all;
  }();
  return laws;
}

const Law& find_law(std::string_view id) {
  for (const Law& law : all_laws()) {
    if (law.id() == id) return law;
  }
  throw std::invalid_argument("no law " + std::string(id));
}

}  // namespace attncheck::properties
