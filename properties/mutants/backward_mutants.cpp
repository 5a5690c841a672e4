// The backward mutants (issue 18): the backward template of mutant_backward-inl.hpp with one bug
// each, behind the bug-free forward of mutant_kernel-inl.hpp, and the laws that must reject
// them. Their controls are the same pair without the bug.
#include <type_traits>

#include "mutants/mutant_backward-inl.hpp"
#include "mutants/mutant_kernel-inl.hpp"
#include "mutants/mutants.hpp"

namespace attncheck::mutants {
namespace {

// Every forward feature, LSE included (so the laws run both forward sources), and the backward.
// No mutant declares its tile: the laws must reach a 16-key edge they are not told of.
template <typename T, BackwardBug bug, int kBlock>
KernelInfo make_backward_kernel(const std::string& name) {
  KernelInfo k;
  k.name = name;
  k.dtype = std::is_same_v<T, float> ? DType::f32 : DType::f16;
  k.capabilities = kAllForwardFeatures | kBackward;
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = kBlock > 0};
  k.algorithm = "backward mutant template: dense backward over key blocks, behind an online-softmax forward";
  k.forward = &mutant_forward<T, Bug::none, kBlock>;
  k.backward = &mutant_backward<T, bug, kBlock>;
  return k;
}

}  // namespace

std::vector<KernelInfo> backward_controls() {
  return {make_backward_kernel<float, BackwardBug::none, 16>("control_backward_f32"),
          make_backward_kernel<float16, BackwardBug::none, 16>("control_backward_f16")};
}

std::vector<Mutant> backward_mutants() {
  const char* kKeySum = "GradientIdentities.KeyGradientsSumToZeroOverKeys";
  const char* kValueSum = "GradientIdentities.ValueGradientsSumToUpstreamGradientOverSeeingRows";
  const char* kInner = "GradientIdentities.QueryAndKeyGradientInnerProductsAgree";
  const char* kLinear = "GradientIdentities.GradientsAreLinearInUpstreamGradient";
  const char* kZero = "GradientMasking.KeysNoQuerySeesGetExactlyZeroGradient";
  const char* kPoison = "GradientMasking.PoisonInUnseenKeysAndEmptyRowsChangesNoGradientBit";
  const char* kBound = "GradientAccuracy.GradientsWithinAPrioriBoundForOracleAndOwnForward";
  const char* kDense = "GradientAccuracy.NormwiseErrorAtMostTwiceDensePlusFloor";
  const char* kTiles = "GradientEquivalence.TileSizesNeverChangeGradientBits";
  const char* kThreads = "GradientEquivalence.ThreadCountNeverChangesGradientBits";
  const char* kGqa = "GradientEquivalence.GroupedQueryGradientsEqualMultiHeadGradientsSummedOverGroup";
  const char* kScale = "GradientScale.ScaleTimesPowerOfTwoWithQueryDividedMultipliesOnlyDqBitForBit";
  const char* kVanish = "VanishingGradient.SoftmaxJacobianVanishesUnscaledAndStaysInBandScaled";
  const char* kControl = "control_backward_f32";
  std::vector<Mutant> m;
  m.push_back({make_backward_kernel<float, BackwardBug::missing_scale_in_dk, 16>("bwd_missing_scale_in_dk_f32"),
               "dK_j += dS q: the scale is left out of the key gradient", kControl,
               {kInner, kScale, kVanish, kBound}});
  m.push_back({make_backward_kernel<float, BackwardBug::gqa_dk_first_head_only, 16>("bwd_gqa_dk_first_head_only_f32"),
               "grouped-query: dK of a kv head takes only the first query head of its group", kControl,
               {kGqa, kInner, kBound}});
  m.push_back({make_backward_kernel<float, BackwardBug::delta_from_previous_row, 16>("bwd_delta_from_previous_row_f32"),
               "D_i = dO_i . O_{i-1} (0 for a head's first row): the wrong O", kControl, {kKeySum, kBound}});
  m.push_back({make_backward_kernel<float, BackwardBug::masked_key_gets_gradient, 16>("bwd_masked_key_gets_gradient_f32"),
               "keys hidden by the boolean mask inside a row's range get P = exp(s - LSE) and gradient", kControl,
               {kZero, kPoison, kBound}});
  m.push_back({make_backward_kernel<float, BackwardBug::lse_off, 16>("bwd_lse_off_f32"),
               "P recomputed from LSE + 2^-10, not from the LSE handed in", kControl,
               // Not law 1: P e^-eps still gives sum_j dS = e^-eps (sum_j P dP - D sum_j P) = 0,
               // since D comes from O. Law 2 sees sum_j P = e^-eps.
               {kValueSum, kBound, kDense}});
  m.push_back({make_backward_kernel<float, BackwardBug::dv_wrong_key, 16>("bwd_dv_wrong_key_f32"),
               "dV of key j written to key kv_len - 1 - j (a transposed index)", kControl, {kZero, kBound}});
  m.push_back({make_backward_kernel<float, BackwardBug::tile_edge_drops_key, 16>("bwd_tile_edge_drops_key_f32"),
               "off by one at a tile edge: the last key of every full interior block gets and gives no gradient",
               kControl, {kKeySum, kTiles, kBound}});
  m.push_back({make_backward_kernel<float, BackwardBug::threads_change_bits, 16>("bwd_threads_change_bits_f32"),
               "rows split across one partial dK/dV sum per thread, added at the end: threads change the rounding",
               kControl, {kThreads}});
  m.push_back({make_backward_kernel<float16, BackwardBug::dv_accumulated_in_storage, 16>(
                   "bwd_dv_accumulated_in_storage_f16"),
               "dV accumulated in binary16, rounded after every row's contribution", "control_backward_f16",
               {kLinear, kBound}});
  return m;
}

}  // namespace attncheck::mutants
