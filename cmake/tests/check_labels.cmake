# cmake -DCTEST=ctest -DBUILD_DIR=dir -DREQUIRED_LABELS=a;b;... -P check_labels.cmake
# Fails, naming them, if any test of BUILD_DIR has no label, or if a label in REQUIRED_LABELS is
# on no test (a label the docs promise that nothing carries selects nothing: `ctest -L meta`
# once ran zero tests while properties/CMakeLists.txt appeared to set it).
# A test has a label exactly when `ctest -L .` (any label) lists it, so the unlabelled tests
# are those `ctest -N` lists and `ctest -N -L .` does not. (Reading ctest --show-only=json-v1
# with string(JSON) took 30 s for 575 tests.)
cmake_minimum_required(VERSION 3.25)

# listed(<out> <ctest args>...): the names of the tests ctest -N lists.
function(listed out)
  execute_process(COMMAND ${CTEST} --test-dir ${BUILD_DIR} -N ${ARGN}
                  OUTPUT_VARIABLE text ERROR_VARIABLE error RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "ctest -N ${ARGN} failed (${status}): ${error}")
  endif()
  string(REGEX MATCHALL "Test +#[0-9]+: [^\n]+" lines "${text}")
  list(TRANSFORM lines REPLACE "^Test +#[0-9]+: " "")
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

listed(all)
listed(labelled -L .)
list(LENGTH all count)
if(count EQUAL 0)
  message(FATAL_ERROR "no tests in ${BUILD_DIR}")
endif()
set(unlabelled ${all})
list(REMOVE_ITEM unlabelled ${labelled})
set(missing)
foreach(label IN LISTS REQUIRED_LABELS)
  listed(with_label -L "^${label}$")
  if(NOT with_label)
    list(APPEND missing "${label}")
  endif()
endforeach()
if(unlabelled OR missing)
  list(LENGTH unlabelled n)
  list(JOIN unlabelled "\n  " unlabelled_text)
  message(FATAL_ERROR "${n} of ${count} tests have no label:\n  ${unlabelled_text}\n"
                      "required labels on no test: ${missing}")
endif()
message(STATUS "all ${count} tests are labelled; every one of ${REQUIRED_LABELS} is on a test")
