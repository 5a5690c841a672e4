# attncheck_cli_test(): a CTest test of a command's exact exit status and message.
# attncheck_cli_test(NAME EXIT status OUTPUT regex [ENV VAR=VALUE...] [UNSET VAR...]
#                    COMMAND program args...)
# Runs the command through testing/expect_run.cmake, which checks the exact exit status and
# matches the regex against stdout and stderr: a crash or the wrong kind of failure does not
# pass, as it would with WILL_FAIL. OUTPUT is a CMake regex ('.' also matches a newline) and
# must not contain ';'. Used by cli/tests and golden/ (included before either is configured).
function(attncheck_cli_test name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "EXIT;OUTPUT" "ENV;UNSET;COMMAND")
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} -DEXPECT_EXIT=${ARG_EXIT} "-DEXPECT_OUTPUT=${ARG_OUTPUT}" "-DENV=${ARG_ENV}"
                   "-DUNSET=${ARG_UNSET}"
                   -P ${ATTNCHECK_EXPECT_RUN} -- ${ARG_COMMAND})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 LABELS "cli;fast")
endfunction()
