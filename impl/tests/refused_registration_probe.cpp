// A test program with two kernels whose registrations the registry must refuse: a second
// "dense_f32" and an exp accuracy of 1e30 ULPs (which would make an off-by-one causal kernel
// pass "within its bound"). Registration runs during static initialisation, where a throw
// would abort every binary with SIGABRT; the program must instead report both, naming kernel
// and field, and exit 2 before running its one test (CTest: registry.refused_registrations_*).
#include <gtest/gtest.h>

#include "attncheck/registry.hpp"

namespace {

using namespace attncheck;

void no_op(const AttentionSpec&, const AttentionInputs&, const AttentionOutputs&, const KernelOptions&) {}

KernelInfo declaration(const char* name, double exp_max_ulp) {
  KernelInfo k;
  k.name = name;
  k.capabilities = kCausal;
  k.error.exp_max_ulp = exp_max_ulp;
  k.forward = &no_op;
  return k;
}

ATTNCHECK_REGISTER_KERNEL(probe_duplicate, declaration("dense_f32", 1.0));
ATTNCHECK_REGISTER_KERNEL(probe_absurd_exp, declaration("probe_absurd_exp_f32", 1e30));

TEST(RefusedRegistration, NeverRuns) { FAIL() << "a test ran although registrations were refused"; }

}  // namespace
