# Warnings and sanitizers, applied to every target through one interface library.
add_library(attncheck_build_flags INTERFACE)
target_compile_options(attncheck_build_flags INTERFACE -Wall -Wextra)
if(ATTNCHECK_WERROR)
  target_compile_options(attncheck_build_flags INTERFACE -Werror)
endif()
if(ATTNCHECK_SANITIZE)
  target_compile_options(attncheck_build_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(attncheck_build_flags INTERFACE -fsanitize=address,undefined)
  target_compile_definitions(attncheck_build_flags INTERFACE ATTNCHECK_SANITIZED=1)
endif()
