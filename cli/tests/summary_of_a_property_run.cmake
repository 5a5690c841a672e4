# attncheck summary end to end: property tests run with ATTNCHECK_RESULTS_DIR write one result
# each; `attncheck summary` reads them into the per-kernel table and JSON (exit 0); a failed
# law result makes it exit 1; an empty directory checked nothing (exit 1); a file that is not a
# law result is bad input (exit 2). Usage:
#   cmake -DPROPERTIES=... -DATTNCHECK=... -DWORK=dir -P summary_of_a_property_run.cmake
function(expect_run expected_exit expected_regex)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL expected_exit OR NOT "${out}${err}" MATCHES "${expected_regex}")
    message(FATAL_ERROR "${ARGN}\nexit ${status} (expected ${expected_exit}), output does not match "
                        "'${expected_regex}' or the status differs:\n${out}\n${err}")
  endif()
endfunction()

set(results "${WORK}/results")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
expect_run(0 "PASSED.*2 tests"
  ${CMAKE_COMMAND} -E env --unset=ATTNCHECK_KERNELS ATTNCHECK_RESULTS_DIR=${results}
  ${PROPERTIES} "--gtest_filter=RowStochasticity.WeightsSumToOneOverVisibleKeys/dense_f32:Accuracy.OutputAndLseWithinAPrioriBound/tiled_f32")
expect_run(0 "2 law results.*\ndense_f32 +1 +0 +[1-9][0-9]* .*\ntiled_f32 +1 +0 +[1-9][0-9]* +[0-9.]+ +[0-9.]+ +[0-9.e+-]+\n.*results JSON written"
  ${ATTNCHECK} summary ${results} --json ${WORK}/summary.json)
file(READ "${WORK}/summary.json" doc)
string(JSON verdict GET "${doc}" verdict)
string(JSON kernels LENGTH "${doc}" kernels)
string(JSON laws LENGTH "${doc}" laws)
if(NOT verdict STREQUAL "pass" OR NOT kernels EQUAL 2 OR NOT laws EQUAL 2)
  message(FATAL_ERROR "summary.json: verdict ${verdict}, ${kernels} kernels, ${laws} laws; expected pass, 2, 2")
endif()

# A failed law: its result says so, and the summary fails naming the law.
file(READ "${results}/Accuracy.OutputAndLseWithinAPrioriBound.tiled_f32.json" result)
string(JSON result SET "${result}" passed false)
file(WRITE "${results}/Accuracy.OutputAndLseWithinAPrioriBound.tiled_f32.json" "${result}")
expect_run(1 "FAILS Accuracy.OutputAndLseWithinAPrioriBound.*FAILED: 1 of 2 law runs failed"
  ${ATTNCHECK} summary ${results})

file(MAKE_DIRECTORY "${WORK}/empty")
expect_run(1 "FAILED: no law results in .*nothing was checked" ${ATTNCHECK} summary ${WORK}/empty)
file(WRITE "${WORK}/empty/stray.json" "{\"format\": \"attncheck-trace-results\"}")
expect_run(2 "stray.json: field 'format'" ${ATTNCHECK} summary ${WORK}/empty)
expect_run(2 "not a directory" ${ATTNCHECK} summary ${WORK}/summary.json)
file(REMOVE_RECURSE "${WORK}")
message(STATUS "OK: attncheck summary")
