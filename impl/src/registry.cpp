#include "attncheck/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace attncheck {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<KernelInfo> kernels;
  bool sorted = false;
  std::string filter;
  bool filter_set = false;
};

Registry& registry() {
  static Registry r;  // constructed on first use, so static registrations are safe
  return r;
}

std::vector<std::string> split_filter(const std::string& filter) {
  std::vector<std::string> parts;
  std::stringstream in(filter);
  std::string part;
  while (std::getline(in, part, ',')) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace

bool register_kernel(KernelInfo kernel) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (kernel.name.empty()) throw std::logic_error("register_kernel: kernel without a name");
  if (kernel.forward == nullptr && kernel.decode == nullptr) {
    throw std::logic_error("register_kernel: " + kernel.name + " has no entry point");
  }
  if (kernel.decode != nullptr) kernel.capabilities |= kDecode;
  for (const KernelInfo& k : r.kernels) {
    if (k.name == kernel.name) throw std::logic_error("register_kernel: duplicate name " + kernel.name);
  }
  r.kernels.push_back(std::move(kernel));
  r.sorted = false;
  return true;
}

const std::vector<KernelInfo>& all_kernels() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.sorted) {
    std::sort(r.kernels.begin(), r.kernels.end(),
              [](const KernelInfo& a, const KernelInfo& b) { return a.name < b.name; });
    r.sorted = true;
  }
  return r.kernels;
}

const KernelInfo* find_kernel(std::string_view name) {
  for (const KernelInfo& k : all_kernels()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

void set_kernel_filter(std::string filter) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.filter = std::move(filter);
  r.filter_set = true;
}

void reset_kernel_filter() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.filter.clear();
  r.filter_set = false;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard matching with backtracking to the last '*'.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<const KernelInfo*> selected_kernels() {
  std::string filter;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (r.filter_set) {
      filter = r.filter;
    } else if (const char* env = std::getenv("ATTNCHECK_KERNELS")) {
      filter = env;
    }
  }
  std::vector<const KernelInfo*> selected;
  const std::vector<std::string> patterns = split_filter(filter);
  for (const KernelInfo& k : all_kernels()) {
    const bool wanted = patterns.empty() || std::any_of(patterns.begin(), patterns.end(),
                                                        [&](const std::string& pattern) {
                                                          return glob_match(pattern, k.name);
                                                        });
    if (wanted) selected.push_back(&k);
  }
  if (!patterns.empty() && selected.empty()) {
    throw std::invalid_argument("kernel filter '" + filter + "' matches no registered kernel");
  }
  return selected;
}

std::string capability_names(uint32_t capabilities) {
  static const std::pair<uint32_t, const char*> names[] = {
      {kCausal, "causal"},     {kPadding, "padding"},        {kWindow, "window"},
      {kBoolMask, "mask"},     {kAlibi, "alibi"},            {kGroupedQuery, "gqa"},
      {kLse, "lse"},           {kValueDim, "value_dim"},     {kCustomScale, "scale"},
      {kDecode, "decode"},     {kBackward, "backward"},
  };
  std::string out;
  for (const auto& [bit, name] : names) {
    if (capabilities & bit) {
      if (!out.empty()) out += ",";
      out += name;
    }
  }
  return out;
}

std::string unsupported_feature(const KernelInfo& kernel, const AttentionSpec& spec) {
  if (kernel.forward == nullptr) return "forward";
  if (spec.causal && !kernel.has(kCausal)) return "causal";
  if (spec.has_valid_keys && !kernel.has(kPadding)) return "padding";
  if ((spec.window_left != kUnboundedWindow || spec.window_right != kUnboundedWindow) &&
      !kernel.has(kWindow)) {
    return "window";
  }
  if (spec.mask != MaskKind::none && !kernel.has(kBoolMask)) return "mask";
  if (spec.has_alibi && !kernel.has(kAlibi)) return "alibi";
  if (spec.shape.kv_heads != spec.shape.q_heads && !kernel.has(kGroupedQuery)) return "gqa";
  if (spec.shape.value_dim != spec.shape.head_dim && !kernel.has(kValueDim)) return "value_dim";
  if (spec.scale && !kernel.has(kCustomScale)) return "scale";
  return "";
}

}  // namespace attncheck
