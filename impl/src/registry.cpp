#include "attncheck/registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace attncheck {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<KernelInfo> kernels;
  std::vector<std::string> errors;  // refused registrations, in order
  bool sorted = false;
  std::string filter;
  bool filter_set = false;
};

Registry& registry() {
  static Registry r;  // constructed on first use, so static registrations are safe
  return r;
}

// Splits at commas and trims blanks; an entry that is empty after trimming is kept as "" so
// the caller can refuse it.
std::vector<std::string> split_filter(const std::string& filter) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    const size_t comma = filter.find(',', begin);
    std::string part = filter.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    parts.push_back(part);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return parts;
}

bool name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::string refused(const KernelInfo& kernel, const std::string& field, const std::string& why) {
  return "kernel '" + kernel.name + "': " + field + ": " + why;
}

// The checks of validate_registration() that need no registry; returns the reason or "".
std::string declaration_problem(const KernelInfo& k) {
  if (k.name.empty()) return "kernel without a name: KernelInfo.name is empty";
  for (char c : k.name) {
    if (!name_character(c)) {
      return refused(k, "name", std::string("character '") + c +
                                    "' is not allowed (letters, digits, '_', '.', '-' only, so the "
                                    "name can be selected with --kernel and ATTNCHECK_KERNELS)");
    }
  }
  if (k.dtype != DType::f32 && k.dtype != DType::f16 && k.dtype != DType::bf16) {
    return refused(k, "dtype", std::to_string(static_cast<int>(k.dtype)) + " is not a DType");
  }
  constexpr uint32_t known = kAllForwardFeatures | kDecode | kBackward;
  if ((k.capabilities & ~known) != 0) {
    std::ostringstream bits;
    bits << "0x" << std::hex << (k.capabilities & ~known);
    return refused(k, "capabilities", "unknown bits " + bits.str());
  }
  if (k.forward == nullptr && k.decode == nullptr) {
    return refused(k, "forward", "no entry point: neither forward nor decode is set");
  }
  if (k.has(kDecode) && k.decode == nullptr) {
    return refused(k, "capabilities", "kDecode is declared but decode is null");
  }
  if (k.has(kBackward) && k.backward == nullptr) {
    return refused(k, "capabilities", "kBackward is declared but backward is null");
  }
  if (k.backward != nullptr && k.forward == nullptr) {
    return refused(k, "backward", "a backward entry point needs the forward it differentiates (forward is null)");
  }
  const double ulp = k.error.exp_max_ulp;
  if (!std::isfinite(ulp) || ulp < 0 || ulp > kMaxDeclaredExpUlp) {
    std::ostringstream value;
    value << ulp;
    return refused(k, "error.exp_max_ulp",
                   value.str() + " is not a finite number of f32 ULPs in [0, 65536]; beyond 65536 the "
                                 "a-priori bound no longer tells a correct kernel from a wrong one");
  }
  return "";
}

std::string joined_errors(const std::vector<std::string>& errors) {
  std::string out = std::to_string(errors.size()) + " kernel registration(s) refused:";
  for (const std::string& e : errors) out += "\n  " + e;
  return out;
}

}  // namespace

void validate_registration(const KernelInfo& kernel) {
  if (std::string problem = declaration_problem(kernel); !problem.empty()) throw RegistrationError(problem);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const KernelInfo& k : r.kernels) {
    if (k.name == kernel.name) throw RegistrationError(refused(kernel, "name", "already registered by another kernel"));
  }
}

bool register_kernel(KernelInfo kernel) noexcept {
  try {
    if (kernel.decode != nullptr) kernel.capabilities |= kDecode;
    if (kernel.backward != nullptr) kernel.capabilities |= kBackward;
    validate_registration(kernel);
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.kernels.push_back(std::move(kernel));
    r.sorted = false;
  } catch (const std::exception& e) {
    try {
      Registry& r = registry();
      std::lock_guard lock(r.mutex);
      r.errors.push_back(e.what());
    } catch (...) {
      std::abort();  // out of memory during static initialisation: nothing sensible remains
    }
  }
  return true;
}

std::vector<std::string> registration_errors() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.errors;
}

const std::vector<KernelInfo>& all_kernels() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.errors.empty()) throw RegistrationError(joined_errors(r.errors));
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
  std::optional<std::string> filter;
  std::string source = "--kernel";
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (r.filter_set) {
      filter = r.filter;
    } else if (const char* env = std::getenv("ATTNCHECK_KERNELS")) {
      filter = env;
      source = "ATTNCHECK_KERNELS";
    }
  }
  const std::vector<KernelInfo>& kernels = all_kernels();
  std::vector<const KernelInfo*> selected;
  if (!filter) {
    for (const KernelInfo& k : kernels) {
      if (!k.explicit_only) selected.push_back(&k);
    }
    return selected;
  }
  const std::vector<std::string> patterns = split_filter(*filter);
  std::vector<bool> wanted(kernels.size(), false);
  for (const std::string& pattern : patterns) {
    if (pattern.empty()) {
      throw std::invalid_argument(source + " '" + *filter + "' has an empty entry; name kernels or globs, " +
                                  "comma-separated (unset it to select every kernel)");
    }
    bool matched = false;
    for (size_t i = 0; i < kernels.size(); ++i) {
      const bool match = kernels[i].explicit_only ? pattern == kernels[i].name : glob_match(pattern, kernels[i].name);
      if (match) wanted[i] = matched = true;
    }
    if (!matched) {
      throw std::invalid_argument(source + " entry '" + pattern + "' matches no registered kernel (" +
                                  "`attncheck kernels` lists them)");
    }
  }
  for (size_t i = 0; i < kernels.size(); ++i) {
    if (wanted[i]) selected.push_back(&kernels[i]);
  }
  return selected;
}

bool is_selected(const KernelInfo& kernel) {
  const std::vector<const KernelInfo*> chosen = selected_kernels();
  return std::find(chosen.begin(), chosen.end(), &kernel) != chosen.end();
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
