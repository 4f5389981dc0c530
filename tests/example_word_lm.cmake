# Smoke tests of examples/word_lm, tiny settings (seconds):
#   example_word_lm          on the built-in synthetic corpus: trains 2 epochs, checks the
#                            metrics JSON keys, that it learned something, and the checkpoint;
#                            resumes it to 3 epochs and checks the figures equal those of an
#                            uninterrupted 3-epoch run (parameters, optimizer, carried state,
#                            dropout masks, best-on-valid selection); a model option given again
#                            with another value is an error
#   example_word_lm_files    --train/--valid/--test files: a valid word missing from a
#                            vocabulary without <unk> is an error naming file:line:column, --unk
#                            maps it to a given word, an empty file and --max-vocab are errors
# This file is both the registration (included by tests/CMakeLists.txt) and the script the
# tests run (cmake -P, with WORD_LM_MODE set). Guard as in example_char_lm.cmake.

if(CMAKE_SCRIPT_MODE_FILE)
  set(model --hidden 24 --bptt 10 --batch 8 --dropout 0.2 --threads 1 --sample 1)

  function(run_word_lm expect_rc)
    execute_process(COMMAND ${WORD_LM} ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expect_rc)
      message(FATAL_ERROR "word_lm ${ARGN}\nexited with ${rc}, expected ${expect_rc}\nstdout:\n${out}\nstderr:\n${err}")
    endif()
    set(out "${out}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
  endfunction()

  include(${CMAKE_CURRENT_LIST_DIR}/example_support.cmake)  # metric()
  file(REMOVE_RECURSE ${WORK_DIR})
  file(MAKE_DIRECTORY ${WORK_DIR})

  if(WORD_LM_MODE STREQUAL "synthetic")
    run_word_lm(0 ${model} --epochs 2 --checkpoint resumed.npz --metrics-out first.json)
    foreach(key valid_ppl test_ppl words_per_s wall_s parameters epochs)
      metric(first.json ${key} value)
    endforeach()
    metric(first.json valid_ppl ppl)
    metric(first.json vocab_size vocab)
    if(NOT ppl LESS 10)  # 39 word types: it must have learned something
      message(FATAL_ERROR "valid perplexity ${ppl} after 2 epochs (vocabulary ${vocab})")
    endif()
    run_word_lm(0 --epochs 3 --resume --checkpoint resumed.npz --metrics-out resumed.json --plot curves.svg)
    file(READ ${WORK_DIR}/curves.svg svg)
    string(REGEX MATCH "data-name=\"valid ppl\"[^>]*points=\"([^\"]*)\"" _ "${svg}")
    string(REGEX MATCHALL "[0-9.]+,[0-9.]+" points "${CMAKE_MATCH_1}")
    list(LENGTH points n)
    if(NOT n EQUAL 3)  # epochs 1 and 2 from the checkpoint's curves, 3 from the resumed run
      message(FATAL_ERROR "--plot after --resume: ${n} valid points, expected 3:\n${svg}")
    endif()
    if(NOT out MATCHES "resumed from resumed.npz at epoch 3")
      message(FATAL_ERROR "no resume message in:\n${out}")
    endif()
    run_word_lm(0 ${model} --epochs 3 --checkpoint straight.npz --metrics-out straight.json)
    foreach(key valid_ppl test_ppl best_epoch)
      metric(resumed.json ${key} resumed)
      metric(straight.json ${key} straight)
      if(NOT resumed STREQUAL straight)
        message(FATAL_ERROR "${key}: ${resumed} after resuming, ${straight} uninterrupted")
      endif()
    endforeach()
    run_word_lm(1 --epochs 3 --resume --checkpoint resumed.npz --hidden 32)
    if(NOT err MATCHES "--hidden 32 contradicts the checkpoint, trained with --hidden 24")
      message(FATAL_ERROR "a model option given again must match the checkpoint's; got:\n${err}")
    endif()
  elseif(WORD_LM_MODE STREQUAL "files")
    file(WRITE ${WORK_DIR}/train.txt " the cat sat on the mat \n the dog sat \n a cat saw the dog \n")
    file(WRITE ${WORK_DIR}/valid.txt " the cat sat \n the bird sat \n")
    file(WRITE ${WORK_DIR}/empty.txt "\n")
    set(tiny --hidden 8 --bptt 3 --batch 2 --epochs 1 --threads 1 --sample 0 --checkpoint c.npz)
    run_word_lm(1 ${tiny} --train train.txt --valid valid.txt)
    if(NOT err MATCHES "valid.txt:2:6: 'bird' is not in the training vocabulary")
      message(FATAL_ERROR "an unknown word should be named with file:line:column, got:\n${err}")
    endif()
    run_word_lm(0 ${tiny} --train train.txt --valid valid.txt --test valid.txt --unk dog --metrics-out m.json)
    metric(m.json valid_unknown_words unknown)
    metric(m.json test_ppl test)
    if(NOT unknown EQUAL 1)
      message(FATAL_ERROR "--unk dog: ${unknown} valid words mapped, expected 1")
    endif()
    run_word_lm(1 ${tiny} --train empty.txt --valid valid.txt)
    if(NOT err MATCHES "empty.txt: holds no token")
      message(FATAL_ERROR "an empty training file should be an error naming it, got:\n${err}")
    endif()
    run_word_lm(1 ${tiny} --train train.txt --valid valid.txt --unk dog --max-vocab 4)
    if(NOT err MATCHES "train.txt:1:[0-9]+: the vocabulary exceeds --max-vocab 4")
      message(FATAL_ERROR "--max-vocab should be enforced, got:\n${err}")
    endif()
  else()
    message(FATAL_ERROR "WORD_LM_MODE must be synthetic or files")
  endif()
  return()
endif()

if(TAPENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/word_lm/main.cpp)
  foreach(mode synthetic files)
    set(name example_word_lm)
    if(mode STREQUAL "files")
      set(name example_word_lm_files)
    endif()
    add_test(NAME ${name}
      COMMAND ${CMAKE_COMMAND} -DWORD_LM=$<TARGET_FILE:word_lm> -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/${name}
              -DWORD_LM_MODE=${mode} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
