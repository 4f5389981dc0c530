# Smoke tests of examples/forecast on its built-in synthetic series (about a second each).
#
# This file has two roles. Included by tests/CMakeLists.txt, it registers the tests; each
# test then runs this same file in script mode (cmake -P) as the driver that starts the
# program and checks its exit code, its output and the metrics JSON.
#   example_forecast_many_to_one    train 3 epochs, --checkpoint and --metrics-out into the build dir
#   example_forecast_many_to_many   the same in the other mode
#   example_forecast_resume         --resume the many-to-one checkpoint for epochs 4 and 5
#   example_forecast_bad_data       a non-numeric CSV line: non-zero exit, error names file:line
# Each checks that the model beats the last-value baseline on the test split.
# The examples are only built with TAPENET_BUILD_EXAMPLES (the ASan build turns them off).
# tests/ is configured before examples/, so the guard is the option, not if(TARGET):
# $<TARGET_FILE:forecast> is resolved at generate time, when the target exists.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  if(TAPENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/forecast/main.cpp)
    set(_dir ${CMAKE_CURRENT_BINARY_DIR}/example_forecast)
    foreach(_mode many_to_one many_to_many resume bad_data)
      set(_name example_forecast_${_mode})
      set(_test_dir ${_dir}_${_mode})
      if(_mode STREQUAL "resume")
        set(_test_dir ${_dir}_many_to_one)  # resumes that test's checkpoint
      endif()
      add_test(NAME ${_name}
        COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:forecast> -DMODE=${_mode} -DDIR=${_test_dir}
                -P ${CMAKE_CURRENT_LIST_FILE})
      set_tests_properties(${_name} PROPERTIES TIMEOUT 300)
    endforeach()
    set_tests_properties(example_forecast_many_to_one PROPERTIES FIXTURES_SETUP forecast_checkpoint)
    set_tests_properties(example_forecast_resume PROPERTIES FIXTURES_REQUIRED forecast_checkpoint)
  endif()
  return()
endif()

# ---- script mode: the test driver ---------------------------------------------------------

set(_common --points 1500 --hidden 16 --checkpoint ${DIR}/checkpoint.npz --metrics-out ${DIR}/metrics.json)

function(run_forecast)
  execute_process(COMMAND ${PROGRAM} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect_metrics mode)
  file(READ ${DIR}/metrics.json json)
  foreach(key test_mse baseline_mse mse_ratio val_mse wall_s parameters mode)
    if(NOT json MATCHES "\"${key}\": ")
      message(FATAL_ERROR "metrics.json has no key '${key}':\n${json}")
    endif()
  endforeach()
  if(NOT json MATCHES "\"mode\": \"${mode}\"")
    message(FATAL_ERROR "metrics.json: expected \"mode\": \"${mode}\":\n${json}")
  endif()
  # 3 epochs reach ~0.07 against a baseline of ~0.105 (original units).
  string(REGEX MATCH "\"test_mse\": ([0-9.eE+-]+)" _ "${json}")
  set(model ${CMAKE_MATCH_1})
  string(REGEX MATCH "\"baseline_mse\": ([0-9.eE+-]+)" _ "${json}")
  set(baseline ${CMAKE_MATCH_1})
  if(NOT model OR NOT baseline)
    message(FATAL_ERROR "metrics.json: test_mse or baseline_mse is not a number:\n${json}")
  endif()
  # Scale both to integers (1e-6 units) for an exact comparison.
  foreach(v model baseline)
    string(REGEX MATCH "^([0-9]+)\\.?([0-9]*)$" _ "${${v}}")
    if(NOT _)
      message(FATAL_ERROR "metrics.json: unexpected number format '${${v}}':\n${json}")
    endif()
    string(SUBSTRING "${CMAKE_MATCH_2}000000" 0 6 _frac)
    math(EXPR ${v}_micro "${CMAKE_MATCH_1} * 1000000 + 1${_frac} - 1000000")
  endforeach()
  if(NOT model_micro LESS baseline_micro)
    message(FATAL_ERROR "test_mse ${model} is not below the last-value baseline ${baseline}:\n${json}")
  endif()
endfunction()

if(MODE STREQUAL "many_to_one" OR MODE STREQUAL "many_to_many")
  string(REPLACE "_" "-" _mode ${MODE})
  file(REMOVE_RECURSE ${DIR})
  file(MAKE_DIRECTORY ${DIR})
  run_forecast(--mode ${_mode} --epochs 3 ${_common})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "forecast exited with ${rc}:\n${err}")
  endif()
  if(NOT EXISTS ${DIR}/checkpoint.npz)
    message(FATAL_ERROR "no checkpoint in ${DIR}")
  endif()
  expect_metrics(${_mode})
elseif(MODE STREQUAL "resume")
  run_forecast(--mode many-to-one --epochs 5 --resume ${_common} --plot ${DIR}/curves.svg)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "forecast --resume exited with ${rc}:\n${err}")
  endif()
  file(READ ${DIR}/curves.svg svg)
  if(NOT svg MATCHES "data-name=\"train mse\"" OR NOT svg MATCHES "data-name=\"val mse\"")
    message(FATAL_ERROR "--plot: curves.svg lacks a series:\n${svg}")
  endif()
  if(NOT out MATCHES "resumed from .* after epoch 3" OR NOT out MATCHES "epoch 4: " OR out MATCHES "epoch 3: ")
    message(FATAL_ERROR "--resume did not continue at epoch 4")
  endif()
  expect_metrics(many-to-one)
elseif(MODE STREQUAL "bad_data")
  file(MAKE_DIRECTORY ${DIR})
  file(WRITE ${DIR}/series.csv "value\n1.5\n2.5\n3,5\n4.5\n")
  run_forecast(--data ${DIR}/series.csv --epochs 1)
  if(rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "malformed data: expected a clean non-zero exit, got '${rc}'")
  endif()
  if(NOT err MATCHES "series.csv:4: ")
    message(FATAL_ERROR "the error does not name series.csv:4:\n${err}")
  endif()
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
