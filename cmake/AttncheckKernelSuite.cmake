# attncheck_add_kernel_suite(): attncheck's suite against your kernels, built in your project's
# build tree and registered as CTest tests there. Installed with the attncheck package and
# loaded by find_package(attncheck); see docs/verify-your-kernel.md.
#
#   attncheck_add_kernel_suite(NAME <name>
#                              KERNELS <source file or target>...
#                              [SELECT <kernel name or glob>...]
#                              [LABELS <label>...])
#
# KERNELS: the sources that register your kernels (ATTNCHECK_REGISTER_KERNEL), compiled into an
#   OBJECT library <name>_kernels linked to attncheck::core, and/or your own OBJECT or STATIC
#   library targets. Kernels register themselves from static initialisers, which a linker drops
#   with any archive member nothing refers to, so object files are linked directly and static
#   libraries whole ($<LINK_LIBRARY:WHOLE_ARCHIVE,...>); other target types are refused.
# SELECT: the kernels the tests check (ATTNCHECK_KERNELS, comma-joined: names or globs). The
#   programs also hold attncheck's built-in kernels (the dense_* references some checks compare
#   against); without SELECT every registered kernel is checked, those included.
# LABELS: labels added to every test (each test also gets "attncheck", <name> and its part).
#
# Builds, each with attncheck's built-in kernels and yours:
#   <name>_properties  every property law and every regression problem (docs/properties.md);
#                      tests <name>.<Family>.<Law>/<kernel>, label "properties";
#   <name>_features    the kernel feature tests (every declared feature against the oracle, tile
#                      sizes, threads, SIMD targets, NaN in invisible slots, decode, declared exp
#                      accuracy); tests <name>.AllDtypes/OptimizedKernels.*/<dtype>,
#                      <name>.DecodeKernels.*, <name>.DeclaredExpAccuracy.*, label "features";
#   <name>_attncheck   the attncheck command with your kernels: test
#                      <name>.golden.kernels_within_bounds_on_every_trace runs `golden check` on
#                      the installed golden traces, label "golden". A failing property prints
#                      an `attncheck trace` command that runs this program.
# Failing property cases are written to <build dir of the caller>/<name>_failures unless
# ATTNCHECK_FAILURES says otherwise.
#
# Reads (set by attncheckConfig.cmake): ATTNCHECK_SUITE_SOURCE_DIR (the suite sources compiled
# here, because they name the places above), ATTNCHECK_GOLDEN_DIR, ATTNCHECK_REGRESSION_DIR.
include_guard(GLOBAL)
include(GoogleTest)
include(${CMAKE_CURRENT_LIST_DIR}/AttncheckTestLabels.cmake)

function(attncheck_add_kernel_suite)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "" "NAME" "KERNELS;SELECT;LABELS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "attncheck_add_kernel_suite: unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME)
    message(FATAL_ERROR "attncheck_add_kernel_suite: NAME is required")
  endif()
  if(NOT ARG_KERNELS)
    message(FATAL_ERROR "attncheck_add_kernel_suite(${ARG_NAME}): KERNELS is required (your kernel sources or targets)")
  endif()
  if(NOT TARGET attncheck::properties OR NOT TARGET attncheck::feature_tests)
    message(FATAL_ERROR "attncheck_add_kernel_suite(${ARG_NAME}): this attncheck was built without its kernel "
                        "suites (ATTNCHECK_BUILD_SUITES=OFF); rebuild and reinstall it with ATTNCHECK_BUILD_SUITES=ON")
  endif()
  foreach(dir IN ITEMS "${ATTNCHECK_SUITE_SOURCE_DIR}" "${ATTNCHECK_GOLDEN_DIR}/traces" "${ATTNCHECK_REGRESSION_DIR}")
    if(NOT IS_DIRECTORY "${dir}")
      message(FATAL_ERROR "attncheck_add_kernel_suite(${ARG_NAME}): ${dir} is missing: the attncheck installation is incomplete")
    endif()
  endforeach()
  set(name "${ARG_NAME}")

  # The user's kernels: sources into one OBJECT library, targets as they are.
  set(sources)
  set(kernel_links)
  foreach(item IN LISTS ARG_KERNELS)
    if(TARGET "${item}")
      get_target_property(type "${item}" TYPE)
      if(type STREQUAL "OBJECT_LIBRARY")
        list(APPEND kernel_links "${item}")
      elseif(type STREQUAL "STATIC_LIBRARY")
        list(APPEND kernel_links "$<LINK_LIBRARY:WHOLE_ARCHIVE,${item}>")
      else()
        message(FATAL_ERROR "attncheck_add_kernel_suite(${name}): ${item} is a ${type}; give kernel sources, an "
                            "OBJECT library or a STATIC library, whose registrations can be linked in whole")
      endif()
    else()
      get_filename_component(path "${item}" ABSOLUTE)
      if(NOT EXISTS "${path}")
        message(FATAL_ERROR "attncheck_add_kernel_suite(${name}): ${item} is neither a target nor a file")
      endif()
      list(APPEND sources "${path}")
    endif()
  endforeach()
  if(sources)
    add_library(${name}_kernels OBJECT ${sources})
    target_link_libraries(${name}_kernels PUBLIC attncheck::core)
    list(APPEND kernel_links ${name}_kernels)
  endif()
  # attncheck::kernels directly, in every program: an OBJECT library's objects (the built-in
  # kernels' registrations) join only the targets that name it.
  set(all_kernels attncheck::kernels ${kernel_links})

  set(environment)
  if(ARG_SELECT)
    list(JOIN ARG_SELECT "," selection)
    set(environment ENVIRONMENT "ATTNCHECK_KERNELS=${selection}")
  endif()
  set(common_labels attncheck ${name} ${ARG_LABELS})

  # The attncheck command with these kernels.
  add_executable(${name}_attncheck "${ATTNCHECK_SUITE_SOURCE_DIR}/cli/main.cpp")
  target_link_libraries(${name}_attncheck PRIVATE attncheck::commands ${all_kernels})

  # The property laws. Only the laws of the selected kernels become tests (the program registers
  # one test per law and registered kernel, and skips the unselected ones when run).
  set(props "${ATTNCHECK_SUITE_SOURCE_DIR}/properties")
  add_executable(${name}_properties ${props}/property_main.cpp ${props}/regression_test.cpp
                                    ${props}/failing_case.cpp ${props}/regression_replay.cpp)
  target_compile_definitions(${name}_properties PRIVATE
    ATTNCHECK_DEFAULT_FAILURE_DIR="${CMAKE_CURRENT_BINARY_DIR}/${name}_failures"
    ATTNCHECK_CLI_PATH="$<TARGET_FILE:${name}_attncheck>"
    ATTNCHECK_REGRESSION_DIR="${ATTNCHECK_REGRESSION_DIR}")
  target_link_libraries(${name}_properties PRIVATE attncheck::properties attncheck::test_main_lib ${all_kernels})
  set(filter)
  if(ARG_SELECT)
    list(TRANSFORM ARG_SELECT PREPEND "*/" OUTPUT_VARIABLE patterns)
    list(JOIN patterns ":" joined)
    set(filter TEST_FILTER "${joined}")
  endif()
  gtest_discover_tests(${name}_properties TEST_PREFIX "${name}." ${filter} DISCOVERY_TIMEOUT 120
                       TEST_LIST ${name}_properties_TESTS PROPERTIES TIMEOUT 600 ${environment})
  attncheck_test_labels(${name}_properties_TESTS ${common_labels} properties)

  # The kernel feature tests, restricted to those that run the selected kernels (the rest of
  # that program checks attncheck's own kernels and primitives).
  add_executable(${name}_features)
  target_link_libraries(${name}_features PRIVATE attncheck::feature_tests attncheck::test_main ${all_kernels})
  gtest_discover_tests(${name}_features TEST_PREFIX "${name}." NO_PRETTY_VALUES
                       TEST_FILTER "AllDtypes/OptimizedKernels.*:DecodeKernels.*:DeclaredExpAccuracy.EverySelected*"
                       DISCOVERY_TIMEOUT 120 TEST_LIST ${name}_features_TESTS PROPERTIES TIMEOUT 600 ${environment})
  attncheck_test_labels(${name}_features_TESTS ${common_labels} features)

  # Every selected kernel against every golden trace; fails if one runs on no trace.
  add_test(NAME ${name}.golden.kernels_within_bounds_on_every_trace
           COMMAND ${name}_attncheck golden check --dir "${ATTNCHECK_GOLDEN_DIR}")
  set_tests_properties(${name}.golden.kernels_within_bounds_on_every_trace PROPERTIES
    TIMEOUT 600 LABELS "${common_labels};golden" ${environment})
endfunction()
