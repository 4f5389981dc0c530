# Smoke tests of examples/translate on its built-in synthetic task (number words -> digits),
# tiny settings (seconds):
#   example_translate         trains 2 epochs; checks the exit code, the metrics JSON keys
#                             (test_bleu, test_ppl, sentences_per_s, wall_s), the checkpoint and
#                             its companions; runs `eval` and `translate --show-attention` on it
#   example_translate_resume  trains 1 epoch, resumes to 2 epochs and checks the test perplexity
#                             equals that of the uninterrupted 2-epoch run (exact resume:
#                             parameters, optimizer state, data order and dropout masks), and
#                             that a model option given again with another value is an error
# This file is both the registration (included by tests/CMakeLists.txt) and the script the
# tests run (cmake -P, with TRANSLATE_MODE set).
#
# Guard: tests/ is configured before examples/, so `if(TARGET translate)` would still be false
# here; the option that creates the target is tested instead (the ASan build turns it OFF),
# and $<TARGET_FILE:translate> is resolved at generate time, when the target exists.

if(CMAKE_SCRIPT_MODE_FILE)
  set(common --synthetic-size 1500 --hidden 32 --embedding 32 --batch 32 --beam 2 --eval-limit 60 --dropout 0.1)

  function(run_translate expect_rc)
    execute_process(COMMAND ${TRANSLATE} ${ARGN} WORKING_DIRECTORY ${WORK_DIR} INPUT_FILE ${WORK_DIR}/stdin.txt
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expect_rc)
      message(FATAL_ERROR "translate ${ARGN}\nexited with ${rc}, expected ${expect_rc}\nstdout:\n${out}\nstderr:\n${err}")
    endif()
    set(out "${out}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
  endfunction()

  include(${CMAKE_CURRENT_LIST_DIR}/example_support.cmake)  # metric()

  if(TRANSLATE_MODE STREQUAL "train")
    file(REMOVE_RECURSE ${WORK_DIR})
    file(MAKE_DIRECTORY ${WORK_DIR})
    file(WRITE ${WORK_DIR}/stdin.txt "forty two\nseven hundred and three\n")
    run_translate(0 train ${common} --epochs 2 --checkpoint ckpt.npz --metrics-out metrics.json --plot curves.svg)
    file(READ ${WORK_DIR}/curves.svg svg)
    if(NOT svg MATCHES "data-name=\"valid ppl\"" OR NOT svg MATCHES "data-name=\"greedy BLEU")
      message(FATAL_ERROR "train --plot: curves.svg lacks a series:\n${svg}")
    endif()
    foreach(key test_bleu test_ppl sentences_per_s wall_s)
      metric(metrics.json ${key} value)
    endforeach()
    metric(metrics.json test_ppl ppl)
    if(NOT ppl LESS 8)  # the digit vocabulary has 14 entries: it must have learned something
      message(FATAL_ERROR "test perplexity ${ppl} after 2 epochs")
    endif()
    foreach(f ckpt.npz ckpt.npz.src.vocab ckpt.npz.tgt.vocab)
      if(NOT EXISTS ${WORK_DIR}/${f})
        message(FATAL_ERROR "training did not write ${f}")
      endif()
    endforeach()
    run_translate(0 eval --checkpoint ckpt.npz --beam 2 --eval-limit 60 --metrics-out eval.json)
    metric(eval.json test_ppl eval_ppl)
    if(NOT eval_ppl STREQUAL ppl)
      message(FATAL_ERROR "eval: test perplexity ${eval_ppl}, training reported ${ppl}")
    endif()
    run_translate(0 translate --checkpoint ckpt.npz --beam 2 --show-attention --plot attention.svg)
    if(NOT out MATCHES "<eos>")
      message(FATAL_ERROR "translate --show-attention printed no attention matrix:\n${out}")
    endif()
    foreach(f_word attention.svg:forty attention-2.svg:seven)  # one heat map per input sentence
      string(REPLACE ":" ";" f_word ${f_word})
      list(GET f_word 0 f)
      list(GET f_word 1 word)
      file(READ ${WORK_DIR}/${f} svg)
      if(NOT svg MATCHES "class=\"cell\"" OR NOT svg MATCHES ">${word}<")
        message(FATAL_ERROR "${f}: no heat map with the source words:\n${svg}")
      endif()
    endforeach()
    # Fixed splits: tab-separated files, and aligned source/target files.
    file(WRITE ${WORK_DIR}/train.tsv "one\t1\ntwo\t2\nthree\t3\nfour\t4\nfive\t5\nsix\t6\n")
    file(WRITE ${WORK_DIR}/test.tsv "two\t2\nfive\t5\n")
    run_translate(0 train --train train.tsv --test test.tsv --source-column 0 --hidden 8 --embedding 8 --epochs 1
                  --beam 1 --checkpoint tsv.npz --metrics-out tsv.json)
    metric(tsv.json test_pairs pairs)
    metric(tsv.json train_pairs train_pairs)
    if(NOT pairs EQUAL 2 OR NOT train_pairs EQUAL 6)
      message(FATAL_ERROR "fixed splits: ${train_pairs} train and ${pairs} test pairs, expected 6 and 2")
    endif()
    file(WRITE ${WORK_DIR}/train.src "one\ntwo\nthree\n")
    file(WRITE ${WORK_DIR}/train.tgt "1\n2\n")
    run_translate(1 train --train-source train.src --train-target train.tgt --test test.tsv --checkpoint par.npz)
    if(NOT err MATCHES "train.tgt: ends at line 3")
      message(FATAL_ERROR "aligned files of different lengths must be an error naming the short one, got:\n${err}")
    endif()
    run_translate(1 eval --checkpoint missing.npz)
  elseif(TRANSLATE_MODE STREQUAL "resume")
    file(REMOVE_RECURSE ${WORK_DIR})
    file(MAKE_DIRECTORY ${WORK_DIR})
    file(WRITE ${WORK_DIR}/stdin.txt "")
    run_translate(0 train ${common} --epochs 1 --checkpoint resumed.npz)
    run_translate(0 train --epochs 2 --resume --checkpoint resumed.npz --beam 2 --eval-limit 60 --metrics-out resumed.json)
    if(NOT err MATCHES "resumed from resumed.npz at epoch 2")
      message(FATAL_ERROR "no resume message in:\n${err}")
    endif()
    run_translate(1 train --epochs 2 --resume --checkpoint resumed.npz --hidden 64)
    if(NOT err MATCHES "--hidden 64 contradicts the checkpoint, trained with --hidden 32")
      message(FATAL_ERROR "a model option given again on --resume must match the checkpoint's; got:\n${err}")
    endif()
    run_translate(0 train ${common} --epochs 2 --checkpoint straight.npz --metrics-out straight.json)
    metric(resumed.json test_ppl resumed)
    metric(straight.json test_ppl straight)
    if(NOT resumed STREQUAL straight)
      message(FATAL_ERROR "test perplexity after resuming ${resumed}, uninterrupted ${straight}")
    endif()
  else()
    message(FATAL_ERROR "TRANSLATE_MODE must be train or resume")
  endif()
  return()
endif()

if(TAPENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/translate/main.cpp)
  foreach(mode train resume)
    set(name example_translate)
    if(mode STREQUAL "resume")
      set(name example_translate_resume)
    endif()
    add_test(NAME ${name}
      COMMAND ${CMAKE_COMMAND} -DTRANSLATE=$<TARGET_FILE:translate> -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/example_translate_${mode}
              -DTRANSLATE_MODE=${mode} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
