# cmake -P script run by the install_consumer ctest (registered in tests/install_consumer.cmake):
#   1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix
#   2. configure tests/consumer/ against that prefix (find_package(tapenet))
#   3. build it and run the program, which checks a gradient
# Any failing step fails the test. The work dir is wiped first, so every run starts clean.
#
# Required -D variables: BUILD_DIR SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR
# Optional: CONFIG (build type), MAKE_PROGRAM
cmake_minimum_required(VERSION 3.16)

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run_step name)
  message(STATUS "install_consumer: ${name}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: step '${name}' failed (${rc})")
  endif()
endfunction()

run_step(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" --config "${CONFIG}")

if(NOT EXISTS "${prefix}/include/tapenet/autograd/ops.hpp")
  message(FATAL_ERROR "install_consumer: ${prefix}/include/tapenet/autograd/ops.hpp not installed")
endif()

set(configure_args
  -S "${SOURCE_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
  "-DCMAKE_BUILD_TYPE=${CONFIG}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  # Only the fresh install may satisfy find_package(tapenet): no package registry.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
run_step(configure "${CMAKE_COMMAND}" ${configure_args})

# The consumer must have found this prefix's package, not some other tapenet.
file(STRINGS "${consumer_build}/CMakeCache.txt" tapenet_dir_line REGEX "^tapenet_DIR:")
string(FIND "${tapenet_dir_line}" "tapenet_DIR:PATH=${prefix}/" found_at)
if(NOT found_at EQUAL 0)
  message(FATAL_ERROR "install_consumer: found the wrong package: ${tapenet_dir_line}")
endif()

run_step(build "${CMAKE_COMMAND}" --build "${consumer_build}" --config "${CONFIG}")

if(EXISTS "${consumer_build}/${CONFIG}/consumer")
  set(exe "${consumer_build}/${CONFIG}/consumer")
else()
  set(exe "${consumer_build}/consumer")
endif()
run_step(run "${exe}")
