# Smoke tests of examples/char_lm on its built-in synthetic text, tiny settings (seconds):
#   example_char_lm         trains 30 steps; checks the exit code, the metrics JSON keys, the
#                           loss-curve CSV, the checkpoint, and that an unknown --prime
#                           character is an error naming it; then the fixed splits
#                           (--train/--valid/--test, a test character the vocabulary lacks)
#   example_char_lm_resume  resumes that checkpoint to step 40, giving none of the model or
#                           optimizer options (they come from the checkpoint), and checks the
#                           last step's loss equals that of an uninterrupted 40-step run
#                           (bit-exact resume: parameters, optimizer, settings, data position,
#                           dropout seed and carried BPTT state)
# This file is both the registration (included by tests/CMakeLists.txt) and the script the
# tests run (cmake -P, with CHAR_LM_MODE set).
#
# Guard: tests/ is configured before examples/, so `if(TARGET char_lm)` is still false here;
# the option that creates the target is tested instead (the ASan build turns it OFF), and
# $<TARGET_FILE:char_lm> is resolved at generate time, when the target exists.

if(CMAKE_SCRIPT_MODE_FILE)
  # Per-run options, and the options the checkpoint remembers (a resumed run omits them).
  set(run --synthetic-chars 50000 --eval-every 15 --eval-tokens 2000 --sample 40)
  set(model --hidden 32 --embed 16 --seq 16 --batch 8 --dropout 0.1 --lr 0.003 --lr-schedule constant --seed 3)

  function(run_char_lm expect_rc)
    execute_process(COMMAND ${CHAR_LM} ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expect_rc)
      message(FATAL_ERROR "char_lm ${ARGN}\nexited with ${rc}, expected ${expect_rc}\nstdout:\n${out}\nstderr:\n${err}")
    endif()
    set(out "${out}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
  endfunction()

  include(${CMAKE_CURRENT_LIST_DIR}/example_support.cmake)  # metric()

  if(CHAR_LM_MODE STREQUAL "train")
    file(REMOVE_RECURSE ${WORK_DIR})
    file(MAKE_DIRECTORY ${WORK_DIR})
    run_char_lm(0 ${run} ${model} --steps 30 --checkpoint ckpt.npz --metrics-out metrics.json --curve-out curve.csv
                --plot curves.svg)
    file(READ ${WORK_DIR}/curves.svg svg)
    if(NOT svg MATCHES "^<\\?xml" OR NOT svg MATCHES "data-name=\"train loss\"" OR NOT svg MATCHES "data-name=\"validation loss\"")
      message(FATAL_ERROR "--plot: curves.svg lacks the XML header or a series:\n${svg}")
    endif()
    foreach(key train_loss_nats val_loss_nats tokens_per_s wall_s parameters)
      metric(metrics.json ${key} value)
    endforeach()
    metric(metrics.json val_loss_nats val)
    metric(metrics.json vocab_size vocab)
    if(NOT val LESS 3.3)  # ln(30 characters) = 3.40: it must have learned something
      message(FATAL_ERROR "validation loss ${val} nats/char after 30 steps (vocabulary ${vocab})")
    endif()
    file(READ ${WORK_DIR}/curve.csv curve)
    if(NOT curve MATCHES "^step,train_loss,val_loss\n" OR NOT curve MATCHES "\n30,[0-9.]+,[0-9.]+\n")
      message(FATAL_ERROR "curve.csv lacks its header or the step-30 row:\n${curve}")
    endif()
    if(NOT EXISTS ${WORK_DIR}/ckpt.npz)
      message(FATAL_ERROR "no checkpoint written")
    endif()
    # fixed splits: the vocabulary from --train, a test character it lacks scored as <unk>
    string(REPEAT "the cat sat on the mat. " 40 train_text)
    file(WRITE ${WORK_DIR}/train.txt "${train_text}")
    file(WRITE ${WORK_DIR}/valid.txt "the mat sat on the cat. the cat sat.")
    file(WRITE ${WORK_DIR}/test.txt "a cat on a mat! ")
    run_char_lm(0 --train train.txt --valid valid.txt --test test.txt --hidden 16 --embed 8 --seq 8 --batch 4
                --steps 10 --eval-every 10 --sample 0 --checkpoint splits.npz --metrics-out splits.json)
    metric(splits.json test_loss_nats test_loss)
    metric(splits.json test_unknown_chars test_unknown)
    if(NOT test_unknown EQUAL 1)  # '!'
      message(FATAL_ERROR "test.txt: ${test_unknown} characters scored as <unk>, expected 1 ('!')")
    endif()
    run_char_lm(1 --data train.txt --train train.txt --valid valid.txt --steps 1 --checkpoint unused.npz)
    if(NOT err MATCHES "either --data or --train")
      message(FATAL_ERROR "--data with --train should be refused, got:\n${err}")
    endif()
    run_char_lm(1 ${run} ${model} --steps 0 --prime "say @" --checkpoint unused.npz)
    if(NOT err MATCHES "U\\+0040")
      message(FATAL_ERROR "an unknown --prime character should be named in the error, got:\n${err}")
    endif()
  elseif(CHAR_LM_MODE STREQUAL "resume")
    configure_file(${WORK_DIR}/ckpt.npz ${WORK_DIR}/resumed.npz COPYONLY)
    run_char_lm(0 ${run} --steps 40 --resume --checkpoint resumed.npz --metrics-out resumed.json)
    if(NOT out MATCHES "resumed from resumed.npz at step 30")
      message(FATAL_ERROR "no resume message in:\n${out}")
    endif()
    run_char_lm(0 ${run} ${model} --steps 40 --checkpoint straight.npz --metrics-out straight.json)
    metric(resumed.json steps steps)
    metric(resumed.json last_step_loss resumed)
    metric(straight.json last_step_loss straight)
    if(NOT steps EQUAL 40 OR NOT resumed STREQUAL straight)
      message(FATAL_ERROR "resumed run: steps ${steps}, last loss ${resumed}; uninterrupted run: ${straight}")
    endif()
  else()
    message(FATAL_ERROR "CHAR_LM_MODE must be train or resume")
  endif()
  return()
endif()

if(TAPENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/char_lm/main.cpp)
  foreach(mode train resume)
    set(name example_char_lm)
    if(mode STREQUAL "resume")
      set(name example_char_lm_resume)
    endif()
    add_test(NAME ${name}
      COMMAND ${CMAKE_COMMAND} -DCHAR_LM=$<TARGET_FILE:char_lm> -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/example_char_lm
              -DCHAR_LM_MODE=${mode} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endforeach()
  set_tests_properties(example_char_lm PROPERTIES FIXTURES_SETUP char_lm_checkpoint)
  set_tests_properties(example_char_lm_resume PROPERTIES FIXTURES_REQUIRED char_lm_checkpoint)
endif()
