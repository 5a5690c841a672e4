# What `cmake --install build [--prefix P]` puts under the prefix, so that a kernel project
# uses attncheck without building inside its tree (docs/verify-your-kernel.md):
#
#   bin/attncheck                          the CLI (built-in kernels)
#   include/attncheck/...                  the headers of impl/, oracle/, formats/, golden/, cli/,
#                                          testing/ and (properties/) the laws
#   lib/libattncheck_*.a, lib/attncheck/objects-<config>/...
#                                          the libraries; the kernels and the feature tests are
#                                          OBJECT libraries, installed as object files, so their
#                                          static registrations survive linking
#   lib/cmake/attncheck/                   the package: find_package(attncheck) gives the
#                                          attncheck:: targets and attncheck_add_kernel_suite()
#   share/attncheck/golden/{traces,published}, share/attncheck/regressions/
#                                          the data the suites read at run time
#   share/attncheck/suite/                 the suite sources a user's build compiles, because
#                                          they name the places above and the user's CLI
#
# The suites (test_main, properties, feature_tests) are installed when ATTNCHECK_BUILD_SUITES.
include(CMakePackageConfigHelpers)

set(ATTNCHECK_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/attncheck")
set(ATTNCHECK_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/attncheck")

set(attncheck_installed_targets
  attncheck_core attncheck_kernels attncheck_oracle attncheck_formats attncheck_golden attncheck_commands attncheck)
if(ATTNCHECK_BUILD_SUITES)
  list(APPEND attncheck_installed_targets
    attncheck_test_main_lib attncheck_test_main attncheck_properties attncheck_feature_tests)
endif()
# attncheck::core, attncheck::kernels, ... and attncheck::attncheck (the CLI).
foreach(target IN LISTS attncheck_installed_targets)
  string(REGEX REPLACE "^attncheck_" "" export_name "${target}")
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
endforeach()

# A sanitized build's libraries need the sanitizer runtimes in every program that links them;
# the other flags of attncheck_build_flags (warnings, -Werror) stay attncheck's own.
if(ATTNCHECK_SANITIZE)
  target_link_options(attncheck_core INTERFACE $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
endif()

install(TARGETS ${attncheck_installed_targets} EXPORT attncheckTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/attncheck)
install(EXPORT attncheckTargets NAMESPACE attncheck:: DESTINATION ${ATTNCHECK_INSTALL_CMAKEDIR})

foreach(dir impl oracle formats golden cli)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/golden/traces ${PROJECT_SOURCE_DIR}/golden/published
        DESTINATION ${ATTNCHECK_INSTALL_DATADIR}/golden)

if(ATTNCHECK_BUILD_SUITES)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/testing/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/properties/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attncheck/properties
          FILES_MATCHING PATTERN "*.hpp" PATTERN "mutants" EXCLUDE PATTERN "regressions" EXCLUDE)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/properties/regressions/ DESTINATION ${ATTNCHECK_INSTALL_DATADIR}/regressions)
  # Compiled in the user's build by attncheck_add_kernel_suite() (cmake/AttncheckKernelSuite.cmake).
  install(FILES ${PROJECT_SOURCE_DIR}/properties/property_main.cpp ${PROJECT_SOURCE_DIR}/properties/regression_test.cpp
                ${PROJECT_SOURCE_DIR}/properties/failing_case.cpp ${PROJECT_SOURCE_DIR}/properties/regression_replay.cpp
          DESTINATION ${ATTNCHECK_INSTALL_DATADIR}/suite/properties)
  install(FILES ${PROJECT_SOURCE_DIR}/cli/src/main.cpp DESTINATION ${ATTNCHECK_INSTALL_DATADIR}/suite/cli)
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/attncheckConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/attncheckConfig.cmake
  INSTALL_DESTINATION ${ATTNCHECK_INSTALL_CMAKEDIR}
  PATH_VARS ATTNCHECK_INSTALL_DATADIR)
# 0.x: a minor version may change the interface.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/attncheckConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/attncheckConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/attncheckConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/AttncheckKernelSuite.cmake ${CMAKE_CURRENT_LIST_DIR}/AttncheckTestLabels.cmake
        DESTINATION ${ATTNCHECK_INSTALL_CMAKEDIR})
