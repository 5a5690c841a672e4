#include "attncheck/registry.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

namespace attncheck {
namespace {

TEST(Registry, ListsTheDenseKernelOfEveryDtypeSortedByName) {
  const auto& kernels = all_kernels();
  std::set<std::string> names;
  for (size_t i = 0; i < kernels.size(); ++i) {
    names.insert(kernels[i].name);
    if (i > 0) {
      EXPECT_LT(kernels[i - 1].name, kernels[i].name);
    }
  }
  for (const char* name : {"dense_f32", "dense_f16", "dense_bf16"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  EXPECT_EQ(find_kernel("dense_f16")->dtype, DType::f16);
  EXPECT_EQ(find_kernel("no_such_kernel"), nullptr);
}

TEST(Registry, RejectsDuplicatesAndKernelsWithoutAnEntryPoint) {
  KernelInfo copy = *find_kernel("dense_f32");
  EXPECT_THROW(register_kernel(copy), std::logic_error);
  KernelInfo empty;
  empty.name = "registry_test_empty";
  EXPECT_THROW(register_kernel(empty), std::logic_error);
}

TEST(Registry, FilterSelectsByNameOrGlobAndRejectsAFilterMatchingNothing) {
  set_kernel_filter("dense_f16");
  auto selected = selected_kernels();
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected[0]->name, "dense_f16");
  set_kernel_filter("dense_*16, dense_f32");
  EXPECT_EQ(selected_kernels().size(), 3u);
  set_kernel_filter("densse_f32");
  EXPECT_THROW(selected_kernels(), std::invalid_argument);
  set_kernel_filter("");
  EXPECT_EQ(selected_kernels().size(), all_kernels().size());
  reset_kernel_filter();
}

TEST(Glob, MatchesStarAndQuestionMark) {
  EXPECT_TRUE(glob_match("dense_*", "dense_bf16"));
  EXPECT_TRUE(glob_match("*_f?6", "tiled_f16"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("dense_?", "dense_f32"));
  EXPECT_FALSE(glob_match("tiled*", "dense_f32"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
}

TEST(Capabilities, UnsupportedFeatureNamesTheFirstMissingOne) {
  KernelInfo k = *find_kernel("dense_f32");
  AttentionSpec spec;
  spec.shape = {1, 4, 2, 3, 3, 8, 8};
  spec.causal = true;
  EXPECT_EQ(unsupported_feature(k, spec), "");
  k.capabilities &= ~kGroupedQuery;
  EXPECT_EQ(unsupported_feature(k, spec), "gqa");
  k.capabilities &= ~kCausal;
  EXPECT_EQ(unsupported_feature(k, spec), "causal");
  EXPECT_EQ(capability_names(kCausal | kAlibi | kLse), "causal,alibi,lse");
}

}  // namespace
}  // namespace attncheck
