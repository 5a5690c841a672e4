// main() of the test programs that register their tests statically (TEST, TEST_P).
#include "attncheck/testing/test_program.hpp"

int main(int argc, char** argv) { return attncheck::test_program::run_test_program(argc, argv); }
