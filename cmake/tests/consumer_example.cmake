# package.consumer_example (cmake/tests/CMakeLists.txt): attncheck used from outside its tree.
#   cmake -DBUILD_DIR=... -DCONFIG=... -DWORK_DIR=... -DCONSUMER_SOURCE_DIR=... -DGENERATOR=...
#         -DCXX=... -DJOBS=n -DCTEST=ctest -P consumer_example.cmake
# 1. cmake --install BUILD_DIR into a fresh prefix under WORK_DIR;
# 2. configure docs/examples/consumer against it (find_package(attncheck), CMAKE_PREFIX_PATH),
#    with the deliberately broken example kernel compiled in too, and build it;
# 3. run its ctest: every test must pass, none may be missing (--no-tests=error), and each part
#    of the suite (properties, features, golden) must have tests;
# 4. the suite built there must fail the broken kernel: one law family, and the golden check.
# Any failing step fails the test, with that step's output.
foreach(var BUILD_DIR CONFIG WORK_DIR CONSUMER_SOURCE_DIR GENERATOR CXX JOBS CTEST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "consumer_example.cmake: -D${var}=... is required")
  endif()
endforeach()
# The verdict must not depend on the kernels the caller selected (`ATTNCHECK_KERNELS=my_kernel
# ctest` sets it for every test): the consumer's tests select their kernel themselves.
unset(ENV{ATTNCHECK_KERNELS})
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

# run(<step> <command>...): runs it, prints its output, stops the test if it fails. The output
# is left in `output` for the checks after it.
macro(run step)
  string(TIMESTAMP started "%s")
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE status)
  string(TIMESTAMP finished "%s")
  math(EXPR seconds "${finished} - ${started}")
  message("== ${step} (${seconds} s): ${ARGN}\n${output}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "consumer_example: ${step} failed (exit status ${status})")
  endif()
endmacro()

run(install ${CMAKE_COMMAND} --install ${BUILD_DIR} --config ${CONFIG} --prefix ${prefix})
run(configure ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=${CONFIG} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix}
    -DCONSUMER_WITH_BROKEN_KERNEL=ON)
# The package must be the installed one, not this build tree or a stale install elsewhere.
file(READ ${build}/CMakeCache.txt cache)
if(NOT cache MATCHES "attncheck_DIR:PATH=${prefix}/")
  string(REGEX MATCH "attncheck_DIR:PATH=[^\n]*" found "${cache}")
  message(FATAL_ERROR "consumer_example: the consumer found ${found}, not the package installed in ${prefix}")
endif()
run(build ${CMAKE_COMMAND} --build ${build} --config ${CONFIG} -j ${JOBS})

foreach(part properties features golden)
  run("list ${part} tests" ${CTEST} --test-dir ${build} -N -L ^${part}$)
  if(NOT output MATCHES "Total Tests: [1-9]")
    message(FATAL_ERROR "consumer_example: the consumer's suite has no ${part} test")
  endif()
endforeach()
run(ctest ${CTEST} --test-dir ${build} --no-tests=error --output-on-failure -j ${JOBS})
if(NOT output MATCHES "100% tests passed, 0 tests failed out of [1-9]")
  message(FATAL_ERROR "consumer_example: the consumer's ctest did not pass every test")
endif()
# The laws ran on the selected kernel: their tests are named after it, and ctest reports a test
# that skipped it (nothing checked) as Skipped, not Passed.
if(NOT output MATCHES "example\\.[A-Za-z]+\\.[A-Za-z]+/example_online_softmax_f32 \\.+ +Passed")
  message(FATAL_ERROR "consumer_example: no property law ran on example_online_softmax_f32")
endif()

# The same build must fail a wrong kernel: the explicit_only broken copy, selected by name.
set(ENV{ATTNCHECK_KERNELS} example_online_softmax_broken_f32)
execute_process(COMMAND ${build}/example_properties --gtest_filter=RowStochasticity.*/example_online_softmax_broken_f32
                OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE status)
message("== the consumer's properties on the broken kernel (exit status ${status}):\n${output}")
if(NOT status EQUAL 1 OR NOT output MATCHES "RowStochasticity\\.[A-Za-z]+: FAILS")
  message(FATAL_ERROR "consumer_example: the consumer's property suite did not fail example_online_softmax_broken_f32")
endif()
execute_process(COMMAND ${build}/example_attncheck golden check --dir ${prefix}/share/attncheck/golden
                OUTPUT_VARIABLE output ERROR_VARIABLE output RESULT_VARIABLE status)
message("== the consumer's golden check on the broken kernel (exit status ${status}):\n${output}")
if(NOT status EQUAL 1 OR NOT output MATCHES "FAIL [^\n]*example_online_softmax_broken_f32")
  message(FATAL_ERROR "consumer_example: the consumer's golden check did not fail example_online_softmax_broken_f32")
endif()
unset(ENV{ATTNCHECK_KERNELS})
message("consumer_example: installed, built and passed; the broken kernel failed as it must")
