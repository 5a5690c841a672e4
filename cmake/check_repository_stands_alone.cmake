# cmake -DSOURCE_DIR=<repository root> -P check_repository_stands_alone.cmake
#
# Fails when a tracked file refers to the directory beside the repository that its first
# sessions worked with (the seeds and notes this project was built from): a user who clones
# the repository does not have it. Sources are cited by their public title and address, and
# whatever a test reads lives inside the repository. The paths are spelt in pieces so that this
# file does not match itself.
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repository root> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
find_program(GIT git)
if(NOT GIT OR NOT EXISTS "${SOURCE_DIR}/.git")
  # Not a git checkout (an exported tarball): there is no list of tracked files to check.
  message("SKIPPED: ${SOURCE_DIR} is not a git checkout")
  return()
endif()
execute_process(COMMAND ${GIT} -c core.quotepath=off ls-files WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE listing RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "git ls-files failed in ${SOURCE_DIR}")
endif()
string(REPLACE "\n" ";" files "${listing}")  # one name a line (CMake strings cannot hold NUL)
string(CONCAT relative "../" "shared")
string(CONCAT absolute "/work/" "shared")
set(found "")
set(count 0)
foreach(file IN LISTS files)
  if(file STREQUAL "" OR NOT EXISTS "${SOURCE_DIR}/${file}" OR IS_DIRECTORY "${SOURCE_DIR}/${file}")
    continue()
  endif()
  math(EXPR count "${count} + 1")
  file(STRINGS "${SOURCE_DIR}/${file}" lines)  # text lines; binary content is skipped
  set(line_number 0)
  foreach(line IN LISTS lines)
    math(EXPR line_number "${line_number} + 1")
    string(FIND "${line}" "${relative}" at_relative)
    string(FIND "${line}" "${absolute}" at_absolute)
    if(NOT at_relative EQUAL -1 OR NOT at_absolute EQUAL -1)
      string(APPEND found "  ${file}:${line_number}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "git ls-files listed no file in ${SOURCE_DIR}")
endif()
if(NOT found STREQUAL "")
  message(FATAL_ERROR "tracked files refer to paths outside the repository (cite the source by its "
                      "title and address instead, or copy what a test reads into the repository):\n${found}")
endif()
message("OK: none of ${count} tracked files refers to a path outside the repository")
