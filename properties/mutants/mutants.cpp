#include "mutants/mutants.hpp"

#include <stdexcept>
#include <type_traits>

#include "mutants/mutant_kernel-inl.hpp"

namespace attncheck::mutants {
namespace {

// Tiled kernels are online-softmax kernels (blocks of kBlock keys by default); single-block
// ones (kBlock = 0) take every visible key at once, exactly the dense algorithm, and claim
// dense's error traits. No mutant declares its tile (KernelInfo::key_tile): the laws must reach
// the tile edges of a kernel that does not say where they are.
template <typename T, Bug bug, int kBlock>
KernelInfo make_kernel(const std::string& name) {
  constexpr bool kTiled = kBlock > 0;
  KernelInfo k;
  k.name = name;
  k.dtype = std::is_same_v<T, float> ? DType::f32 : DType::f16;
  k.capabilities = kAllForwardFeatures | kDecode;
  k.error = ErrorTraits{.exp_max_ulp = 1.0, .weights_rounded_to_storage = false, .online_softmax = kTiled};
  k.algorithm = kTiled ? "mutant template: online softmax over key blocks" : "mutant template: one block (dense)";
  k.forward = &mutant_forward<T, bug, kBlock>;
  k.decode = &mutant_decode<T, bug, kBlock>;
  return k;
}

}  // namespace

const std::vector<KernelInfo>& all_controls() {
  static const std::vector<KernelInfo> controls = [] {
    std::vector<KernelInfo> c = {
      make_kernel<float, Bug::none, 16>("control_tiled_f32"),
      make_kernel<float, Bug::none, 0>("control_single_block_f32"),
      make_kernel<float16, Bug::none, 16>("control_tiled_f16"),
      make_kernel<float16, Bug::none, 0>("control_single_block_f16"),
      make_kernel<float, Bug::none, 128>("control_tiled128_f32"),
      make_kernel<float, Bug::none, 256>("control_tiled256_f32"),
    };
    for (KernelInfo& k : backward_controls()) c.push_back(std::move(k));
    return c;
  }();
  return controls;
}

const KernelInfo& control(std::string_view name) {
  for (const KernelInfo& k : all_controls()) {
    if (k.name == name) return k;
  }
  throw std::invalid_argument("no control kernel " + std::string(name));
}

const std::vector<Mutant>& all_mutants() {
  static const std::vector<Mutant> mutants = [] {
    const char* kInvisible = "MaskLeakage.ChangingInvisibleKeysLeavesOutputBitIdentical";
    const char* kBound = "Accuracy.OutputAndLseWithinAPrioriBound";
    std::vector<Mutant> m;
    m.push_back({make_kernel<float, Bug::future_token_leak, 16>("future_token_leak_f32"),
                 "causal range ends one key late: each query also sees the next token", "control_tiled_f32",
                 {kInvisible, "MaskLeakage.MaskedWeightsAreExactlyZero",
                  "MaskLeakage.AppendingLaterTokensLeavesEarlierRowsUnchanged"}});
    m.push_back({make_kernel<float, Bug::top_left_causal, 16>("top_left_causal_f32"),
                 "causal mask aligned top-left (j <= i) instead of bottom-right (j <= i + kv_len - q_len)",
                 "control_tiled_f32", {"MaskLeakage.QueriesWithNoVisibleKeyReturnZerosAndMinusInfLse", kBound}});
    m.push_back({make_kernel<float, Bug::padded_key_counted, 16>("padded_key_counted_f32"),
                 "the first padded key (j = valid_keys[b]) is counted as visible", "control_tiled_f32",
                 {kInvisible}});
    m.push_back({make_kernel<float, Bug::masked_nan_times_zero, 16>("masked_nan_times_zero_f32"),
                 "masked keys get weight 0 but still enter acc += 0 * v, so a NaN there reaches the output",
                 "control_tiled_f32", {kInvisible}});
    m.push_back({make_kernel<float, Bug::missing_scale, 16>("missing_scale_f32"),
                 "the default scale 1/sqrt(head_dim) is left out", "control_tiled_f32",
                 {"ScalingVariance.ScaledScoreVarianceStaysNearOneWithDefaultScale"}});
    m.push_back({make_kernel<float, Bug::custom_scale_ignored, 16>("custom_scale_ignored_f32"),
                 "a custom scale is ignored: always 1/sqrt(head_dim)", "control_tiled_f32",
                 {"ScalingVariance.RawScoreVarianceGrowsLikeHeadDim"}});
    m.push_back({make_kernel<float, Bug::inverted_scale, 16>("inverted_scale_f32"),
                 "the scores are divided by the scale (a temperature) instead of multiplied", "control_tiled_f32",
                 {"ScalingVariance.RowEntropyNeverIncreasesAsScaleGrows"}});
    m.push_back({make_kernel<float, Bug::unrescaled_running_sum, 16>("unrescaled_running_sum_f32"),
                 "online softmax: the running sum is not rescaled when the running max grows",
                 "control_tiled_f32",
                 {"RowStochasticity.WeightsSumToOneOverVisibleKeys", "RowStochasticity.OutputIsOneWhenValuesAreOnes",
                  "RowStochasticity.OutputLiesInConvexHullOfVisibleValues", kBound}});
    m.push_back({make_kernel<float, Bug::tile_edge_drops_last_key, 16>("tile_edge_drops_last_key_f32"),
                 "off by one at a tile edge: the last key of every full interior block is skipped",
                 "control_tiled_f32",
                 {"Equivalence.AnyTileSizesAgreeWithDenseWithinBound",
                  "Equivalence.PermutingKeysAndValuesTogetherLeavesOutputUnchanged"}});
    m.push_back({make_kernel<float, Bug::gqa_wrong_kv_head, 16>("gqa_wrong_kv_head_f32"),
                 "grouped-query: query head h reads kv head h % kv_heads instead of h / group",
                 "control_tiled_f32", {"Equivalence.GroupedQueryEqualsMultiHeadWithRepeatedKvHeads"}});
    m.push_back({make_kernel<float16, Bug::f16_scores, 16>("f16_scores_f16"),
                 "scores accumulated and kept in binary16: logits beyond 65504 overflow to inf",
                 "control_tiled_f16", {kBound}});
    m.push_back({make_kernel<float, Bug::row_sum_off, 0>("row_sum_off_f32"),
                 "the row sum is off by a relative 2^-20 (16 units of f32 roundoff)", "control_single_block_f32",
                 {"Accuracy.ErrorAtMostTwiceDensePlusEpsilon", kBound}});
    m.push_back({make_kernel<float, Bug::threads_change_bits, 16>("threads_change_bits_f32"),
                 "keys are split into one partial state per thread, so the thread count changes the rounding",
                 "control_tiled_f32", {"Equivalence.ThreadCountNeverChangesBits"}});
    m.push_back({make_kernel<float, Bug::decode_reads_past_cache_end, 16>("decode_reads_past_cache_end_f32"),
                 "decode reads the cache slot after the last token", "control_tiled_f32",
                 {"Equivalence.DecodeTokenByTokenEqualsCausalPrefill", "Accuracy.DecodeWithinAPrioriBound"}});
    m.push_back({make_kernel<float, Bug::alibi_slope_of_head_zero, 16>("alibi_slope_of_head_zero_f32"),
                 "every head uses head 0's ALiBi slope", "control_tiled_f32",
                 {"Equivalence.MultiHeadEqualsPerHeadRuns"}});
    m.push_back({make_kernel<float, Bug::padding_uses_first_batch, 16>("padding_uses_first_batch_f32"),
                 "every batch entry uses valid_keys[0] as its valid length", "control_tiled_f32",
                 {"Equivalence.BatchEntriesAreIndependent"}});
    m.push_back({make_kernel<float, Bug::mask_row_of_first_query, 16>("mask_row_of_first_query_f32"),
                 "every query reads the mask row of query 0", "control_tiled_f32",
                 {"Equivalence.PermutingQueriesPermutesOutputRows"}});
    m.push_back({make_kernel<float, Bug::no_max_shift, 16>("no_max_shift_f32"),
                 "softmax without the max shift: exp(s) overflows once scores pass 88.7", "control_tiled_f32",
                 {"Equivalence.AddingOneVectorToEveryKeyLeavesOutputUnchanged"}});
    m.push_back({make_kernel<float16, Bug::pv_accumulated_in_storage, 16>("pv_accumulated_in_storage_f16"),
                 "P.V accumulated in binary16, rounded after every key", "control_tiled_f16",
                 {"Equivalence.OutputIsLinearInValues"}});
    // The same bugs at the tiles FlashAttention and PyTorch's CPU path use, undeclared: only laws
    // that draw lengths across 128- and 256-key edges see them (issue: verification depth).
    m.push_back({make_kernel<float, Bug::unrescaled_running_sum, 128>("unrescaled_running_sum_k128_f32"),
                 "online softmax over 128-key tiles: the running sum is not rescaled when the running max grows",
                 "control_tiled128_f32",
                 {"RowStochasticity.WeightsSumToOneOverVisibleKeys", "RowStochasticity.OutputIsOneWhenValuesAreOnes",
                  "RowStochasticity.OutputLiesInConvexHullOfVisibleValues", kBound,
                  "Accuracy.ErrorAtMostTwiceDensePlusEpsilon", "Accuracy.DecodeWithinAPrioriBound",
                  "Equivalence.AnyTileSizesAgreeWithDenseWithinBound",
                  "Equivalence.PermutingKeysAndValuesTogetherLeavesOutputUnchanged"}});
    m.push_back({make_kernel<float, Bug::unrescaled_running_sum, 256>("unrescaled_running_sum_k256_f32"),
                 "online softmax over 256-key tiles: the running sum is not rescaled when the running max grows",
                 "control_tiled256_f32",
                 {"RowStochasticity.WeightsSumToOneOverVisibleKeys", "RowStochasticity.OutputIsOneWhenValuesAreOnes",
                  "RowStochasticity.OutputLiesInConvexHullOfVisibleValues", kBound,
                  "Accuracy.ErrorAtMostTwiceDensePlusEpsilon", "Accuracy.DecodeWithinAPrioriBound",
                  "Equivalence.AnyTileSizesAgreeWithDenseWithinBound",
                  "Equivalence.PermutingKeysAndValuesTogetherLeavesOutputUnchanged"}});
    m.push_back({make_kernel<float, Bug::tile_edge_drops_last_key, 128>("tile_edge_drops_last_key_k128_f32"),
                 "128-key tiles: the last key of every full interior block is skipped", "control_tiled128_f32",
                 {kBound, "Accuracy.ErrorAtMostTwiceDensePlusEpsilon", "Accuracy.DecodeWithinAPrioriBound",
                  "Equivalence.AnyTileSizesAgreeWithDenseWithinBound",
                  "Equivalence.PermutingKeysAndValuesTogetherLeavesOutputUnchanged"}});
    m.push_back({make_kernel<float, Bug::tile_edge_drops_last_key, 256>("tile_edge_drops_last_key_k256_f32"),
                 "256-key tiles: the last key of every full interior block is skipped", "control_tiled256_f32",
                 {kBound, "Accuracy.ErrorAtMostTwiceDensePlusEpsilon", "Accuracy.DecodeWithinAPrioriBound",
                  "Equivalence.AnyTileSizesAgreeWithDenseWithinBound",
                  "Equivalence.PermutingKeysAndValuesTogetherLeavesOutputUnchanged"}});
    m.push_back({make_kernel<float, Bug::lse_without_shift, 128>("lse_without_shift_k128_f32"),
                 "LSE computed as log(sum exp(s)) without the max shift: inf once scores pass ~88.7 (O is right)",
                 "control_tiled128_f32",
                 {kBound, "Accuracy.ErrorAtMostTwiceDensePlusEpsilon", "Accuracy.DecodeWithinAPrioriBound",
                  "Equivalence.AnyTileSizesAgreeWithDenseWithinBound"}});
    m.push_back({make_kernel<float, Bug::exp_ulp_worse, 128>("exp_ulp_worse_k128_f32"),
                 "the weights' exp is off by up to 16 f32 ULPs, varying from key to key, while 1 ULP is declared",
                 "control_tiled128_f32",
                 {"Accuracy.ErrorDistributionWithinBandOfDeclaredArithmetic", kBound, "Accuracy.ErrorAtMostTwiceDensePlusEpsilon",
                  "Accuracy.DecodeWithinAPrioriBound", "Equivalence.AnyTileSizesAgreeWithDenseWithinBound"}});
    m.push_back({make_kernel<float, Bug::row_sum_bias, 256>("row_sum_bias_k256_f32"),
                 "the row sum is off by a relative 2^-22 (4 units of f32 roundoff)", "control_tiled256_f32",
                 {"Accuracy.ErrorDistributionWithinBandOfDeclaredArithmetic"}});
    m.push_back({make_kernel<float, Bug::computes_in_f64, 0>("computes_in_f64_f32"),
                 "computes in double (scores, exp, sums, division) while declaring f32 arithmetic: too good",
                 "control_single_block_f32", {"Accuracy.ErrorDistributionWithinBandOfDeclaredArithmetic"}});
    m.push_back({make_kernel<float, Bug::exp_ulp_worse_but_exact_at_zero, 128>("exp_ulp_worse_exact_max_k128_f32"),
                 "the weights' exp is off by up to 16 f32 ULPs, varying from key to key, except exp(0) = 1 exactly, "
                 "while 1 ULP is declared",
                 "control_tiled128_f32", {"Accuracy.ErrorDistributionWithinBandOfDeclaredArithmetic"}});
    for (Mutant& b : backward_mutants()) m.push_back(std::move(b));
    return m;
  }();
  return mutants;
}

}  // namespace attncheck::mutants
