// The meta-tests' setup, before any test runs (their main() is the shared one of testing/):
// the same refusal of unusable environment values as properties_tests, and rapidcheck's
// configuration loaded without its misleading "Using configuration: seed=..." line.
#include <gtest/gtest.h>

#include <string>

#include "env_knobs.hpp"
#include "law.hpp"

namespace attncheck::properties {
namespace {

class MetaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    // A fatal failure here skips every test and fails the program (exit 1), naming the value.
    const std::string errors = knob_errors();
    ASSERT_TRUE(errors.empty()) << "refusing to run, an environment value is not usable:\n" << errors;
    rc_configuration();
  }
};

// GoogleTest owns and deletes the environment.
[[maybe_unused]] ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new MetaEnvironment);

}  // namespace
}  // namespace attncheck::properties
