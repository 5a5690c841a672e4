// The semantics header, checked as a specification: every rule of docs/semantics.md.
#include "attncheck/semantics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace attncheck {
namespace {

AttentionSpec spec_with(AttentionShape shape) {
  AttentionSpec spec;
  spec.shape = shape;
  return spec;
}

// Expects validate() to throw a SpecError naming `field`.
template <typename... Args>
void expect_rejected(const char* field, const Args&... args) {
  try {
    validate(args...);
    ADD_FAILURE() << "accepted a spec with a bad " << field;
  } catch (const SpecError& e) {
    EXPECT_EQ(e.field(), field) << e.what();
  }
}

TEST(Validation, RejectsNonPositiveSizesNamingTheField) {
  const char* fields[] = {"batch", "q_heads", "kv_heads", "q_len", "kv_len", "head_dim", "value_dim"};
  for (int f = 0; f < 7; ++f) {
    for (int64_t bad : {0, -3}) {
      AttentionShape shape{2, 4, 2, 3, 5, 8, 8};
      int64_t* sizes[] = {&shape.batch, &shape.q_heads, &shape.kv_heads, &shape.q_len,
                          &shape.kv_len, &shape.head_dim, &shape.value_dim};
      *sizes[f] = bad;
      expect_rejected(fields[f], spec_with(shape));
    }
  }
}

TEST(Validation, RejectsQueryHeadsNotAMultipleOfKvHeads) {
  expect_rejected("kv_heads", spec_with({1, 6, 4, 1, 1, 4, 4}));
}

TEST(Validation, RejectsNonFiniteOrNonPositiveScale) {
  for (double bad : {double(NAN), double(INFINITY), -double(INFINITY), 0.0, -1.0}) {
    AttentionSpec spec = spec_with({1, 1, 1, 1, 1, 4, 4});
    spec.scale = bad;
    expect_rejected("scale", spec);
  }
}

TEST(Validation, RejectsWindowsBelowMinusOne) {
  AttentionSpec spec = spec_with({1, 1, 1, 1, 1, 4, 4});
  spec.window_left = -2;
  expect_rejected("window_left", spec);
  spec.window_left = 3;
  spec.window_right = -5;
  expect_rejected("window_right", spec);
}

TEST(Validation, RejectsValidLengthsOutsideZeroToKvLen) {
  AttentionSpec spec = spec_with({3, 1, 1, 2, 5, 4, 4});
  spec.has_valid_keys = true;
  const int32_t lengths[] = {5, 6, 0};
  VisibilityInputs inputs;
  inputs.valid_keys = lengths;
  expect_rejected("valid_keys[1]", spec, inputs);
  const int32_t negative[] = {0, 1, -1};
  inputs.valid_keys = negative;
  expect_rejected("valid_keys[2]", spec, inputs);
}

TEST(Validation, RejectsMissingInputsTheSpecAsksFor) {
  AttentionSpec spec = spec_with({1, 2, 1, 2, 5, 4, 4});
  spec.mask = MaskKind::shared;
  expect_rejected("mask", spec, VisibilityInputs{});
  spec.mask = MaskKind::none;
  spec.has_alibi = true;
  expect_rejected("alibi_slopes", spec, VisibilityInputs{});
  const float slopes[] = {0.5f, NAN};
  expect_rejected("alibi_slopes[1]", spec, VisibilityInputs{nullptr, nullptr, slopes});
}

TEST(Validation, AcceptsAConsistentSpec) {
  AttentionSpec spec = spec_with({2, 8, 2, 3, 7, 16, 8});
  spec.causal = true;
  spec.window_left = 2;
  spec.scale = 0.1;
  EXPECT_NO_THROW(validate(spec));
}

TEST(GroupedQuery, QueryHeadReadsKvHeadOfItsGroup) {
  const AttentionShape gqa{1, 8, 2, 1, 1, 4, 4};
  for (int64_t h = 0; h < 8; ++h) EXPECT_EQ(kv_head_for(gqa, h), h / 4);
  const AttentionShape mqa{1, 5, 1, 1, 1, 4, 4};
  for (int64_t h = 0; h < 5; ++h) EXPECT_EQ(kv_head_for(mqa, h), 0);
  const AttentionShape mha{1, 3, 3, 1, 1, 4, 4};
  for (int64_t h = 0; h < 3; ++h) EXPECT_EQ(kv_head_for(mha, h), h);
}

TEST(Scale, DefaultsToOneOverSqrtHeadDim) {
  AttentionSpec spec = spec_with({1, 1, 1, 1, 1, 64, 4});
  EXPECT_EQ(effective_scale(spec), 0.125);
  spec.scale = 0.3;
  EXPECT_EQ(effective_scale(spec), 0.3);
}

TEST(Causal, IsAlignedBottomRight) {
  // q_len 2, kv_len 5: row 0 sits at position 3, row 1 at position 4.
  AttentionSpec spec = spec_with({1, 1, 1, 2, 5, 4, 4});
  spec.causal = true;
  EXPECT_EQ(visible_key_range(spec, {}, 0, 0).begin, 0);
  EXPECT_EQ(visible_key_range(spec, {}, 0, 0).end, 4);
  EXPECT_EQ(visible_key_range(spec, {}, 0, 1).end, 5);
  // q_len > kv_len: the first rows see nothing.
  AttentionSpec tall = spec_with({1, 1, 1, 5, 2, 4, 4});
  tall.causal = true;
  EXPECT_TRUE(visible_key_range(tall, {}, 0, 0).empty());
  EXPECT_TRUE(visible_key_range(tall, {}, 0, 2).empty());
  EXPECT_EQ(visible_key_range(tall, {}, 0, 3).size(), 1);
  EXPECT_EQ(visible_key_range(tall, {}, 0, 4).size(), 2);
}

TEST(Window, BoundsKeysAroundTheQueryPosition) {
  AttentionSpec spec = spec_with({1, 1, 1, 6, 6, 4, 4});
  spec.window_left = 2;
  spec.window_right = 1;
  const KeyRange r = visible_key_range(spec, {}, 0, 3);
  EXPECT_EQ(r.begin, 1);
  EXPECT_EQ(r.end, 5);
  spec.causal = true;  // causal wins over a right window
  EXPECT_EQ(visible_key_range(spec, {}, 0, 3).end, 4);
  const KeyRange first = visible_key_range(spec, {}, 0, 0);
  EXPECT_EQ(first.begin, 0);
  EXPECT_EQ(first.end, 1);
}

TEST(Padding, HidesKeysAtOrBeyondTheValidLength) {
  AttentionSpec spec = spec_with({2, 1, 1, 3, 6, 4, 4});
  spec.has_valid_keys = true;
  const int32_t lengths[] = {4, 0};
  VisibilityInputs inputs;
  inputs.valid_keys = lengths;
  EXPECT_EQ(visible_key_range(spec, inputs, 0, 1).end, 4);
  EXPECT_TRUE(visible_key_range(spec, inputs, 1, 2).empty());
  EXPECT_FALSE(key_visible(spec, inputs, 0, 0, 0, 4));
  EXPECT_TRUE(key_visible(spec, inputs, 0, 0, 0, 3));
}

TEST(BooleanMask, SharedMaskAppliesToEveryHeadAndPerHeadMaskToOne) {
  AttentionSpec spec = spec_with({1, 2, 1, 1, 3, 4, 4});
  spec.mask = MaskKind::shared;
  const uint8_t shared[] = {1, 0, 1};
  VisibilityInputs inputs;
  inputs.mask = shared;
  for (int64_t h = 0; h < 2; ++h) {
    EXPECT_TRUE(key_visible(spec, inputs, 0, h, 0, 0));
    EXPECT_FALSE(key_visible(spec, inputs, 0, h, 0, 1));
  }
  spec.mask = MaskKind::per_head;
  const uint8_t per_head[] = {1, 0, 1, 0, 1, 1};
  inputs.mask = per_head;
  EXPECT_FALSE(key_visible(spec, inputs, 0, 0, 0, 1));
  EXPECT_TRUE(key_visible(spec, inputs, 0, 1, 0, 1));
  EXPECT_FALSE(key_visible(spec, inputs, 0, 1, 0, 0));
  EXPECT_EQ(mask_elements(spec), 6);
}

TEST(Alibi, DistanceIsFromTheBottomRightAlignedPosition) {
  const AttentionShape shape{1, 1, 1, 2, 5, 4, 4};
  EXPECT_EQ(alibi_distance(shape, 1, 4), 0);
  EXPECT_EQ(alibi_distance(shape, 1, 0), 4);
  EXPECT_EQ(alibi_distance(shape, 0, 4), 1);  // a future key: |3 - 4|
}

TEST(Layout, OffsetsAreRowMajorContiguous) {
  const AttentionShape s{2, 4, 2, 3, 5, 6, 7};
  EXPECT_EQ(q_offset(s, 1, 2, 1), ((1 * 4 + 2) * 3 + 1) * 6);
  EXPECT_EQ(k_offset(s, 1, 1, 4), ((1 * 2 + 1) * 5 + 4) * 6);
  EXPECT_EQ(v_offset(s, 1, 1, 4), ((1 * 2 + 1) * 5 + 4) * 7);
  EXPECT_EQ(o_offset(s, 1, 3, 2), ((1 * 4 + 3) * 3 + 2) * 7);
  EXPECT_EQ(lse_offset(s, 1, 3, 2), (1 * 4 + 3) * 3 + 2);
  EXPECT_EQ(q_elements(s), 2 * 4 * 3 * 6);
}

TEST(Describe, NamesEveryFeature) {
  AttentionSpec spec = spec_with({1, 8, 2, 5, 9, 16, 8});
  spec.causal = true;
  spec.window_left = 3;
  spec.window_right = 0;
  spec.has_valid_keys = true;
  spec.mask = MaskKind::shared;
  spec.has_alibi = true;
  EXPECT_EQ(describe(spec),
            "b=1,hq=8,hkv=2,lq=5,lk=9,d=16,dv=8,causal,window=3:0,padding,mask=shared,alibi");
}

}  // namespace
}  // namespace attncheck
