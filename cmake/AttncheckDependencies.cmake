# Every dependency is a Debian package; scripts/setup.sh installs them.
# Each is found the way its Debian package provides: a CMake config package, or pkg-config
# (MPFR, GMP, OpenBLAS), as the calls below say.
find_package(PkgConfig REQUIRED)
find_package(Boost 1.74 REQUIRED)
pkg_check_modules(MPFR REQUIRED IMPORTED_TARGET mpfr)
pkg_check_modules(GMP REQUIRED IMPORTED_TARGET gmp)
# GoogleTest and rapidcheck only for the kernel suites and tests (ATTNCHECK_BUILD_SUITES).
if(ATTNCHECK_BUILD_SUITES)
  find_package(GTest REQUIRED)
  find_package(rapidcheck REQUIRED)
endif()
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(hwy REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)
if(ATTNCHECK_BUILD_BENCH)
  find_package(benchmark REQUIRED)
  pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
endif()
