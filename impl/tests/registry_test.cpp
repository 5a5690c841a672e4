#include "attncheck/registry.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>

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

// Each refused declaration is a RegistrationError whose message names the kernel and the
// field, so a user sees which line of their KernelInfo to fix.
void expect_refused(const KernelInfo& k, const std::string& kernel_and_field) {
  try {
    validate_registration(k);
    ADD_FAILURE() << "accepted: " << kernel_and_field;
  } catch (const RegistrationError& e) {
    EXPECT_NE(std::string(e.what()).find(kernel_and_field), std::string::npos) << e.what();
  }
}

void a_forward(const AttentionSpec&, const AttentionInputs&, const AttentionOutputs&, const KernelOptions&) {}

KernelInfo valid_declaration() {
  KernelInfo k;
  k.name = "registry_test_valid_f32";
  k.capabilities = kCausal | kLse;
  k.forward = &a_forward;
  return k;
}

// Registered for this program only: explicit_only keeps it out of every default selection.
ATTNCHECK_REGISTER_KERNEL(registry_test_explicit_only_f32, ([] {
  KernelInfo k = valid_declaration();
  k.name = "registry_test_explicit_only_f32";
  k.explicit_only = true;
  return k;
}()));

TEST(Registry, AcceptsAValidDeclaration) { EXPECT_NO_THROW(validate_registration(valid_declaration())); }

TEST(Registry, RefusesEveryDeclarationThatWouldMakeAVerdictMeaninglessNamingKernelAndField) {
  KernelInfo k = valid_declaration();
  k.name = "dense_f32";
  expect_refused(k, "kernel 'dense_f32': name: already registered");
  k = valid_declaration();
  k.name = "";
  expect_refused(k, "KernelInfo.name is empty");
  for (const char* name : {"my,kernel", "my*kernel", "my kernel", "my?kernel"}) {
    k.name = name;
    expect_refused(k, std::string("kernel '") + name + "': name: character");
  }
  k = valid_declaration();
  k.forward = nullptr;
  expect_refused(k, "kernel 'registry_test_valid_f32': forward: no entry point");
  k = valid_declaration();
  k.capabilities |= kDecode;
  expect_refused(k, "kernel 'registry_test_valid_f32': capabilities: kDecode is declared but decode is null");
  k = valid_declaration();
  k.capabilities |= kBackward;
  expect_refused(k, "kernel 'registry_test_valid_f32': capabilities: kBackward is declared but backward is null");
  k = valid_declaration();
  k.capabilities |= 1u << 30;
  expect_refused(k, "kernel 'registry_test_valid_f32': capabilities: unknown bits 0x40000000");
  for (double ulp : {1e30, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(),
                     kMaxDeclaredExpUlp * 2}) {
    k = valid_declaration();
    k.error.exp_max_ulp = ulp;
    expect_refused(k, "kernel 'registry_test_valid_f32': error.exp_max_ulp");
  }
  k = valid_declaration();
  k.error.exp_max_ulp = kMaxDeclaredExpUlp;
  EXPECT_NO_THROW(validate_registration(k));
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
  reset_kernel_filter();
}

// "my_kernel_f32,my_kernl_f16" used to check my_kernel_f32 alone and pass; "," and "" used
// to select every kernel. Each is a run that checks other than what was asked.
TEST(Registry, EveryFilterEntryMustSelectAKernelAndNoEntryMayBeEmpty) {
  const auto message_of = [](const std::string& filter) {
    set_kernel_filter(filter);
    try {
      selected_kernels();
    } catch (const std::invalid_argument& e) {
      reset_kernel_filter();
      return std::string(e.what());
    }
    reset_kernel_filter();
    return std::string("(accepted)");
  };
  EXPECT_NE(message_of("dense_f32,dense_f61").find("entry 'dense_f61' matches no registered kernel"), std::string::npos);
  EXPECT_NE(message_of("dense_*,nosuch_*").find("entry 'nosuch_*'"), std::string::npos);
  for (const char* empty : {"", ",", " , ", "dense_f32,,dense_f16", "dense_f32,"}) {
    EXPECT_NE(message_of(empty).find("has an empty entry"), std::string::npos) << "filter '" << empty << "'";
  }
}

TEST(Registry, AnEmptyAttncheckKernelsIsRefusedNotReadAsEveryKernel) {
  const char* saved = std::getenv("ATTNCHECK_KERNELS");
  const std::string saved_value = saved ? saved : "";
  setenv("ATTNCHECK_KERNELS", "", 1);
  EXPECT_THROW(selected_kernels(), std::invalid_argument);
  if (saved) {
    setenv("ATTNCHECK_KERNELS", saved_value.c_str(), 1);
  } else {
    unsetenv("ATTNCHECK_KERNELS");
  }
}

TEST(Registry, AnExplicitOnlyKernelIsSelectedByItsExactNameAlone) {
  const KernelInfo* hidden = find_kernel("registry_test_explicit_only_f32");
  ASSERT_NE(hidden, nullptr);
  const auto selected_names = [](const std::string& filter) {
    set_kernel_filter(filter);
    std::set<std::string> names;
    for (const KernelInfo* k : selected_kernels()) names.insert(k->name);
    reset_kernel_filter();
    return names;
  };
  EXPECT_EQ(selected_names("*").count(hidden->name), 0u);
  EXPECT_EQ(selected_names("registry_test_explicit_only_f32").count(hidden->name), 1u);
  EXPECT_EQ(selected_names("dense_f32,registry_test_explicit_only_f32").size(), 2u);
  set_kernel_filter("registry_test_explicit_*");  // a glob never selects it: nothing matches
  EXPECT_THROW(selected_kernels(), std::invalid_argument);
  reset_kernel_filter();
  if (std::getenv("ATTNCHECK_KERNELS") == nullptr) {
    EXPECT_FALSE(is_selected(*hidden));
  }
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
