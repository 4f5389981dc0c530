# cmake -P script run by the install_consumer ctest (registered in tests/install_consumer.cmake):
#   0. with -DSHARED_FROM=<tapenet source dir>: configure and build the library alone there
#      with BUILD_SHARED_LIBS=ON into WORK_DIR/library, which becomes BUILD_DIR
#   1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix
#   2. configure tests/consumer/ against that prefix (find_package(tapenet))
#   3. build it and run the program, which checks a gradient
#   Shared: the installed .so files must export namespace tapenet only (nm -D), and the
#   consumer must load libtapenet.so (readelf -d) rather than have it linked in.
# Any failing step fails the test. The work dir is wiped first, so every run starts clean.
#
# Required -D variables: SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR, and BUILD_DIR or SHARED_FROM
# Optional: CONFIG (build type), MAKE_PROGRAM
cmake_minimum_required(VERSION 3.16)

foreach(var SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR)
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

if(SHARED_FROM)
  set(BUILD_DIR "${WORK_DIR}/library")
  run_step(configure-shared "${CMAKE_COMMAND}" -S "${SHARED_FROM}" -B "${BUILD_DIR}" -G "${GENERATOR}"
    "-DCMAKE_BUILD_TYPE=${CONFIG}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DBUILD_SHARED_LIBS=ON
    -DTAPENET_BUILD_TESTS=OFF -DTAPENET_BUILD_EXAMPLES=OFF)
  run_step(build-shared "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --config "${CONFIG}" --parallel 2)
elseif(NOT BUILD_DIR)
  message(FATAL_ERROR "run_consumer_test.cmake: -DBUILD_DIR=... or -DSHARED_FROM=... is required")
endif()

# Every dynamic symbol a shared library defines must be one of namespace tapenet (the
# prefixes of cmake/exports.map, mangled), or the ELF version node the script makes.
function(check_exports library)
  execute_process(COMMAND nm -D --defined-only "${library}" OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: nm -D ${library} failed (${rc})")
  endif()
  string(REPLACE "\n" ";" lines "${listing}")
  set(count 0)
  set(foreign "")
  foreach(line ${lines})
    string(REGEX REPLACE "^[0-9a-f]* *[A-Za-z] " "" symbol "${line}")
    if(symbol MATCHES "^_Z(N|NK|ZN|ZNK|TVN|TIN|TSN|TTN|Th.*N|Tv.*N|GVN|GVZN|THN|TWN)7tapenet")
      math(EXPR count "${count} + 1")
    else()
      list(APPEND foreign "${symbol}")
    endif()
  endforeach()
  if(foreign)
    list(LENGTH foreign n)
    list(SUBLIST foreign 0 10 shown)
    message(FATAL_ERROR "install_consumer: ${library} exports ${n} symbols outside namespace tapenet, e.g. ${shown}")
  endif()
  if(count EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${library} exports nothing")
  endif()
  message(STATUS "install_consumer: ${library}: ${count} symbols, all in namespace tapenet")
endfunction()

run_step(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" --config "${CONFIG}")

if(SHARED_FROM)
  file(GLOB shared_libraries "${prefix}/lib*/libtapenet*.so.*.*.*")
  list(LENGTH shared_libraries n)
  if(NOT n EQUAL 2)
    message(FATAL_ERROR "install_consumer: expected libtapenet.so and libtapenet_distributed.so, found: ${shared_libraries}")
  endif()
  foreach(library ${shared_libraries})
    check_exports("${library}")
  endforeach()
endif()

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
if(SHARED_FROM)
  execute_process(COMMAND readelf -d "${exe}" OUTPUT_VARIABLE dynamic)
  if(NOT dynamic MATCHES "NEEDED[^\n]*libtapenet\\.so")
    message(FATAL_ERROR "install_consumer: ${exe} does not load libtapenet.so:\n${dynamic}")
  endif()
endif()
run_step(run "${exe}")
