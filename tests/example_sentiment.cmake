# Smoke tests of examples/sentiment on its built-in synthetic treebank (a few seconds each).
#
# This file has two roles. Included by tests/CMakeLists.txt, it registers the tests; each
# test then runs this same file in script mode (cmake -P) as the driver that starts the
# program and checks its exit code, its output and the metrics JSON.
#   example_sentiment          train 2 epochs, --checkpoint and --metrics-out into the build dir
#   example_sentiment_resume   --resume from that checkpoint for a 3rd epoch
#   example_sentiment_bad_data a malformed tree: non-zero exit, error names file:line:column
#   example_sentiment_binary   --labels binary --leaf-tanh: 2 epochs, the binary metrics (no
#                              fine-grained ones), --resume taking the label mode from the
#                              checkpoint, predict printing negative/positive, --labels foo
# The examples are only built with TAPENET_BUILD_EXAMPLES (the ASan build turns them off).
# tests/ is configured before examples/, so the guard is the option, not if(TARGET):
# $<TARGET_FILE:sentiment> is resolved at generate time, when the target exists.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  if(TAPENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/sentiment/main.cpp)
    set(_dir ${CMAKE_CURRENT_BINARY_DIR}/example_sentiment)
    foreach(_mode train resume bad_data binary)
      set(_name example_sentiment_${_mode})
      set(_test_dir ${_dir})  # train and resume share the checkpoint; the others (run in parallel) not
      if(_mode STREQUAL "train")
        set(_name example_sentiment)
      elseif(_mode STREQUAL "bad_data" OR _mode STREQUAL "binary")
        set(_test_dir ${_dir}_${_mode})
      endif()
      add_test(NAME ${_name}
        COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:sentiment> -DMODE=${_mode} -DDIR=${_test_dir}
                -P ${CMAKE_CURRENT_LIST_FILE})
      set_tests_properties(${_name} PROPERTIES TIMEOUT 300)
    endforeach()
    set_tests_properties(example_sentiment PROPERTIES FIXTURES_SETUP sentiment_checkpoint)
    set_tests_properties(example_sentiment_resume PROPERTIES FIXTURES_REQUIRED sentiment_checkpoint)
  endif()
  return()
endif()

# ---- script mode: the test driver ---------------------------------------------------------

set(_common --train-size 300 --threads 2 --checkpoint ${DIR}/checkpoint.npz --metrics-out ${DIR}/metrics.json)
set(WORK_DIR ${DIR})  # for metric()
include(${CMAKE_CURRENT_LIST_DIR}/example_support.cmake)

function(run_sentiment)
  execute_process(COMMAND ${PROGRAM} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  ${input})
  message("${out}")
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect_metrics epochs)
  file(READ ${DIR}/metrics.json json)
  foreach(key test_root_fine test_root_binary test_all_fine trees_per_s wall_s dev_root_fine threads model dim epochs)
    if(NOT json MATCHES "\"${key}\": ")
      message(FATAL_ERROR "metrics.json has no key '${key}':\n${json}")
    endif()
  endforeach()
  if(NOT json MATCHES "\"epochs\": ${epochs},")
    message(FATAL_ERROR "metrics.json: expected \"epochs\": ${epochs}:\n${json}")
  endif()
  # A sanity floor: an untrained net labels ~20% of the phrases right, 2 epochs ~80%.
  string(REGEX MATCH "\"test_all_fine\": ([0-9.]+)" _ "${json}")
  if(CMAKE_MATCH_1 LESS 50)
    message(FATAL_ERROR "test_all_fine ${CMAKE_MATCH_1}% is below 50%:\n${json}")
  endif()
endfunction()

if(MODE STREQUAL "train")
  file(REMOVE_RECURSE ${DIR})
  file(MAKE_DIRECTORY ${DIR})
  run_sentiment(--epochs 2 ${_common})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sentiment exited with ${rc}:\n${err}")
  endif()
  if(NOT EXISTS ${DIR}/checkpoint.npz OR NOT EXISTS ${DIR}/checkpoint.npz.vocab)
    message(FATAL_ERROR "no checkpoint (or its .vocab) in ${DIR}")
  endif()
  expect_metrics(2)
elseif(MODE STREQUAL "resume")
  run_sentiment(--epochs 3 --resume ${_common})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sentiment --resume exited with ${rc}:\n${err}")
  endif()
  if(NOT out MATCHES "resumed from .* after epoch 2" OR NOT out MATCHES "epoch 3: ")
    message(FATAL_ERROR "--resume did not continue at epoch 3")
  endif()
  expect_metrics(3)
elseif(MODE STREQUAL "bad_data")
  file(MAKE_DIRECTORY ${DIR}/bad)
  file(WRITE ${DIR}/bad/train.txt "(3 (2 a) (3 good))\n")
  file(WRITE ${DIR}/bad/dev.txt "(3 (2 a) (3 good))\n(3 (2 a) (3 good)\n")
  file(WRITE ${DIR}/bad/test.txt "(3 (2 a) (3 good))\n")
  run_sentiment(--data ${DIR}/bad --epochs 1)
  if(rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$")
    message(FATAL_ERROR "malformed data: expected a clean non-zero exit, got '${rc}'")
  endif()
  if(NOT err MATCHES "bad/dev.txt:2:[0-9]+: ")
    message(FATAL_ERROR "the error does not name dev.txt:2:column:\n${err}")
  endif()
elseif(MODE STREQUAL "binary")
  file(REMOVE_RECURSE ${DIR})
  file(MAKE_DIRECTORY ${DIR})
  run_sentiment(--labels binary --leaf-tanh --epochs 2 ${_common})
  if(NOT rc EQUAL 0 OR NOT out MATCHES "RNTN d=25, binary labels, leaf tanh")
    message(FATAL_ERROR "sentiment --labels binary exited with ${rc}:\n${err}")
  endif()
  foreach(key test_root_binary test_all_binary dev_root_binary test_trees trees_per_s wall_s)
    metric(metrics.json ${key} value)
  endforeach()
  metric(metrics.json test_root_binary accuracy)
  if(accuracy LESS 60)  # chance is ~50 %; the synthetic polarity is learned within 2 epochs
    message(FATAL_ERROR "binary test root accuracy ${accuracy}% after 2 epochs")
  endif()
  file(READ ${DIR}/metrics.json json)
  if(json MATCHES "_fine\"" OR NOT json MATCHES "\"labels\": \"binary\"")
    message(FATAL_ERROR "a binary run must not report fine-grained figures, and must say labels binary:\n${json}")
  endif()
  # --resume without --labels or --leaf-tanh: the checkpoint decides.
  run_sentiment(--epochs 3 --resume ${_common})
  if(NOT rc EQUAL 0 OR NOT out MATCHES "binary labels, leaf tanh" OR NOT out MATCHES "epoch 3: ")
    message(FATAL_ERROR "binary --resume exited with ${rc} or lost the label mode:\n${out}\n${err}")
  endif()
  run_sentiment(--labels fine --epochs 4 --resume ${_common})
  if(rc EQUAL 0 OR NOT err MATCHES "--labels binary")
    message(FATAL_ERROR "resuming a binary checkpoint with --labels fine must fail, got ${rc}:\n${err}")
  endif()
  file(WRITE ${DIR}/predict.txt "(4 (2 the) (4 (2 plot) (4 (2 is) (4 great))))\nthe plot is bad\n")
  set(input INPUT_FILE ${DIR}/predict.txt)
  run_sentiment(predict --checkpoint ${DIR}/checkpoint.npz)
  unset(input)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "[01] (negative|positive) +p=" OR out MATCHES "neutral|very")
    message(FATAL_ERROR "predict with a binary checkpoint should print negative/positive, got ${rc}:\n${out}\n${err}")
  endif()
  run_sentiment(--labels foo --epochs 1)
  if(rc EQUAL 0 OR NOT err MATCHES "--labels must be fine or binary, got 'foo'")
    message(FATAL_ERROR "--labels foo: expected a clear error, got ${rc}:\n${err}")
  endif()
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
