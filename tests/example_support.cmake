# Helpers for the example test scripts (tests/example_*.cmake in script mode). Included by
# tests/CMakeLists.txt with the other extras too, where it only defines the function.

# The number stored under `key` in the metrics JSON ${WORK_DIR}/${file} (null or absent: error).
function(metric file key var)
  file(READ ${WORK_DIR}/${file} json)
  if(NOT json MATCHES "\"${key}\": ([-+0-9.eE]+)")
    message(FATAL_ERROR "${file}: no numeric \"${key}\" in\n${json}")
  endif()
  set(${var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()
