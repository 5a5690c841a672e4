# Warnings and sanitizers, applied to every target through one interface library.
add_library(attncheck_build_flags INTERFACE)
target_compile_options(attncheck_build_flags INTERFACE -Wall -Wextra)
# GCC 12 reports -Wrestrict false positives inside libstdc++'s std::string at -O2/-O3
# (GCC bug 105329); no code of ours can avoid them, so that one warning is off for GCC 12.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(attncheck_build_flags INTERFACE -Wno-restrict)
endif()
if(ATTNCHECK_WERROR)
  target_compile_options(attncheck_build_flags INTERFACE -Werror)
endif()
if(ATTNCHECK_SANITIZE)
  target_compile_options(attncheck_build_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(attncheck_build_flags INTERFACE -fsanitize=address,undefined)
  target_compile_definitions(attncheck_build_flags INTERFACE ATTNCHECK_SANITIZED=1)
endif()
