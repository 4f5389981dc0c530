# ctest install_consumer: installs this build tree into a prefix inside the build dir,
# then builds and runs tests/consumer/ (find_package(tapenet) + tapenet::tapenet) against it.
# Under TAPENET_SANITIZE the exported target carries -fsanitize=address,undefined as
# INTERFACE compile/link options, so the consumer is built and run with the sanitizers
# too (ASAN_OPTIONS / UBSAN_OPTIONS from the environment apply).
#
# ctest install_consumer_shared: the same consumer against a shared build of the library
# (BUILD_SHARED_LIBS=ON, built from scratch inside the test, about five minutes on two
# cores), which must export namespace tapenet only. Not under the sanitizers: the plain
# build is the one checked.
function(add_consumer_test name timeout)
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND}
      ${ARGN}
      -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
      -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/${name}
      -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
      -DGENERATOR=${CMAKE_GENERATOR}
      -DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}
      -DCONFIG=$<CONFIG>
      -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run_consumer_test.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout})
endfunction()

add_consumer_test(install_consumer 900 -DBUILD_DIR=${PROJECT_BINARY_DIR})
if(NOT TAPENET_SANITIZE)
  add_consumer_test(install_consumer_shared 1800 -DSHARED_FROM=${PROJECT_SOURCE_DIR})
endif()
