# Runs a command and checks its exit status and output, for CTest tests of programs that must
# fail in one particular way (WILL_FAIL alone would also accept a crash):
#
#   cmake -DEXPECT_EXIT=2 "-DEXPECT_OUTPUT=regex" [-DENV=NAME=VALUE;...] [-DUNSET=NAME;...]
#         -P expect_run.cmake -- PROGRAM ARGS...
#
# EXPECT_OUTPUT is a CMake regex matched against stdout and stderr together. ENV entries are
# set for the command (an empty value sets the variable to ""); UNSET names are removed.
set(command)
set(seen_separator FALSE)
foreach(i RANGE ${CMAKE_ARGC})
  if(seen_separator)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(seen_separator TRUE)
  endif()
endforeach()
if(NOT command)
  message(FATAL_ERROR "expect_run.cmake: no command after --")
endif()
foreach(entry IN LISTS ENV)
  string(FIND "${entry}" "=" eq)
  string(SUBSTRING "${entry}" 0 ${eq} name)
  math(EXPR value_start "${eq} + 1")
  string(SUBSTRING "${entry}" ${value_start} -1 value)
  set(ENV{${name}} "${value}")
endforeach()
foreach(name IN LISTS UNSET)
  unset(ENV{${name}})
endforeach()
execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT "${status}" STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "expected exit status ${EXPECT_EXIT}, got '${status}'")
endif()
if(DEFINED EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "the output does not match: ${EXPECT_OUTPUT}")
endif()
