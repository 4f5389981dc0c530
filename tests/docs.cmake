# The API reference (scripts/docs: Doxygen over the public headers, docs/Doxyfile) into the
# build tree; fails on any Doxygen warning. Only when doxygen is installed, and once: not
# again in the sanitizer build.
find_program(DOXYGEN_EXECUTABLE doxygen)
if(DOXYGEN_EXECUTABLE AND NOT TAPENET_SANITIZE)
  add_test(NAME docs COMMAND ${CMAKE_COMMAND} -E env DOXYGEN=${DOXYGEN_EXECUTABLE}
                             bash ${PROJECT_SOURCE_DIR}/scripts/docs ${CMAKE_CURRENT_BINARY_DIR}/docs)
  set_tests_properties(docs PROPERTIES TIMEOUT 120)
endif()
