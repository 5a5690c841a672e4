# attncheck_test_labels(<list variable> <label>...): gives every test that gtest_discover_tests()
# put in the TEST_LIST variable <list variable> exactly these labels.
#
# gtest_discover_tests(... PROPERTIES LABELS "a;b") cannot do it: the PROPERTIES list is expanded
# unquoted on its way into the generated CTest script, so the second label becomes a property
# name and the tests end up labelled "a" alone (ctest -L b selected none). The tests are known
# only when CTest reads the script discovery wrote, so this appends a script of its own, read
# after discovery's, that sets the labels on the listed tests. Used by attncheck's tests and by
# attncheck_add_kernel_suite() (installed with the package).
function(attncheck_test_labels list_var)
  if(ARGC LESS 2)
    message(FATAL_ERROR "attncheck_test_labels(${list_var}): no label given")
  endif()
  set(labels "${ARGN}")
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${list_var}_labels.cmake")
  # The list is empty when the program failed to build or list its tests: discovery then adds a
  # single *_NOT_BUILT test, which keeps discovery's own labels.
  file(WRITE "${script}"
       "if(${list_var})\n"
       "  set_tests_properties(\${${list_var}} PROPERTIES LABELS [==[${labels}]==])\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
