# Smoke tests of examples/tagger, tiny settings (seconds):
#   example_tagger        the built-in synthetic data (BIO tags): metrics JSON keys, that it
#                         learned something, entity F1 reported; a softmax and a CRF run each
#                         trained 2 epochs, resumed to 3 and compared with an uninterrupted
#                         3-epoch run (parameters, Adam, dropout and <unk> draws, selection);
#                         a net option given again with another value is an error; the
#                         --lr-decay plateau schedule resumed equals it uninterrupted
#   example_tagger_files  CoNLL-U (multiword-token and empty-node lines, --column xpos) and
#                         two-column inputs from tiny inline files; bad lines are errors naming
#                         file:line
# Both the registration (included by tests/CMakeLists.txt) and the script the tests run
# (cmake -P, with TAGGER_MODE set).

if(CMAKE_SCRIPT_MODE_FILE)
  set(tiny --train-size 200 --word-dim 16 --char-dim 8 --char-hidden 8 --hidden 16 --batch 8 --chunk 4 --lr 0.01 --threads 1)

  function(run_tagger expect_rc)
    execute_process(COMMAND ${TAGGER} ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expect_rc)
      message(FATAL_ERROR "tagger ${ARGN}\nexited with ${rc}, expected ${expect_rc}\nstdout:\n${out}\nstderr:\n${err}")
    endif()
    set(out "${out}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
  endfunction()

  include(${CMAKE_CURRENT_LIST_DIR}/example_support.cmake)  # metric()
  file(REMOVE_RECURSE ${WORK_DIR})
  file(MAKE_DIRECTORY ${WORK_DIR})

  if(TAGGER_MODE STREQUAL "synthetic")
    foreach(output softmax crf)
      run_tagger(0 ${tiny} --output ${output} --epochs 2 --checkpoint ${output}.npz --metrics-out ${output}_first.json)
      foreach(key test_accuracy valid_accuracy valid_f1 test_f1 tokens_per_s wall_s best_epoch)
        metric(${output}_first.json ${key} value)
      endforeach()
      metric(${output}_first.json valid_accuracy accuracy)
      if(accuracy LESS 80)  # O alone is about half the tokens
        message(FATAL_ERROR "${output}: valid accuracy ${accuracy}% after 2 epochs")
      endif()
      run_tagger(0 --epochs 3 --resume --checkpoint ${output}.npz --metrics-out ${output}_resumed.json --plot ${output}.svg)
      if(NOT out MATCHES "resumed from ${output}.npz at epoch 2 batch 0")
        message(FATAL_ERROR "no resume message in:\n${out}")
      endif()
      file(READ ${WORK_DIR}/${output}.svg svg)
      if(NOT svg MATCHES "valid accuracy")
        message(FATAL_ERROR "--plot: no valid accuracy curve in\n${svg}")
      endif()
      run_tagger(0 ${tiny} --output ${output} --epochs 3 --metrics-out ${output}_straight.json)
      foreach(key test_accuracy valid_accuracy valid_f1 test_f1 best_epoch)
        metric(${output}_resumed.json ${key} resumed)
        metric(${output}_straight.json ${key} straight)
        if(NOT resumed STREQUAL straight)
          message(FATAL_ERROR "${output} ${key}: ${resumed} after resuming, ${straight} uninterrupted")
        endif()
      endforeach()
    endforeach()
    # The plateau schedule (--lr-decay, --lr-patience 0: every evaluation without a better
    # valid score halves the rate) resumes where it was: rate and selection as uninterrupted.
    set(decay ${tiny} --lr 0.03 --beta2 0.9 --lr-decay 0.5 --lr-patience 0 --patience 20)
    run_tagger(0 ${decay} --epochs 3 --checkpoint decay.npz)
    run_tagger(0 --epochs 7 --resume --checkpoint decay.npz --metrics-out decay_resumed.json)
    run_tagger(0 ${decay} --epochs 7 --metrics-out decay_straight.json)
    if(NOT out MATCHES "lr -> ")
      message(FATAL_ERROR "--lr-decay: no evaluation without a better score in 7 epochs; the check needs one:\n${out}")
    endif()
    foreach(key final_lr lr_reductions test_accuracy valid_accuracy best_epoch beta2)
      metric(decay_resumed.json ${key} resumed)
      metric(decay_straight.json ${key} straight)
      if(NOT resumed STREQUAL straight)
        message(FATAL_ERROR "--lr-decay ${key}: ${resumed} after resuming, ${straight} uninterrupted")
      endif()
    endforeach()
    run_tagger(1 --epochs 3 --resume --checkpoint crf.npz --output softmax)
    if(NOT err MATCHES "--output softmax contradicts the checkpoint")
      message(FATAL_ERROR "a net option given again must match the checkpoint's; got:\n${err}")
    endif()
  elseif(TAGGER_MODE STREQUAL "files")
    # CoNLL-U: a multiword token (2-3) and an empty node (3.1) are not words of the sentence.
    string(CONCAT conllu
      "# sent_id = 1\n"
      "1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
      "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
      "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
      "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
      "3.1\tx\tx\tX\tX\t_\t_\t_\t_\t_\n"
      "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n"
      "\n"
      "1\tdogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n"
      "2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_\n"
      "\n")
    file(WRITE ${WORK_DIR}/train.conllu "${conllu}")
    set(small --word-dim 8 --char-dim 4 --char-hidden 4 --hidden 8 --batch 2 --chunk 1 --epochs 2 --threads 1)
    run_tagger(0 ${small} --train train.conllu --valid train.conllu --test train.conllu --metrics-out u.json)
    metric(u.json test_tokens tokens)
    if(NOT tokens EQUAL 6)  # I do n't know / dogs bark
      message(FATAL_ERROR "CoNLL-U: ${tokens} test tokens, expected 6 (multiword and empty-node lines are no words)")
    endif()
    if(NOT out MATCHES " 5 tags")  # AUX NOUN PART PRON VERB
      message(FATAL_ERROR "CoNLL-U UPOS: expected 5 tags in\n${out}")
    endif()
    run_tagger(0 ${small} --train train.conllu --valid train.conllu --column xpos --output crf)
    if(NOT out MATCHES " 5 tags")  # NNS PRP RB VB VBP
      message(FATAL_ERROR "CoNLL-U XPOS: expected 5 tags in\n${out}")
    endif()
    # Two columns, CoNLL-2003 style: -DOCSTART- skipped, a blank line between sentences.
    file(WRITE ${WORK_DIR}/train.txt "-DOCSTART-\tO\n\nJohn\tB-PER\nSmith\tI-PER\nlives\tO\nin\tO\nParis\tB-LOC\n\nhi\tO\n")
    run_tagger(0 ${small} --train train.txt --valid train.txt --test train.txt --output crf --metrics-out c.json)
    foreach(key test_accuracy test_f1 valid_f1)
      metric(c.json ${key} value)
    endforeach()
    metric(c.json test_tokens tokens)
    if(NOT tokens EQUAL 6)
      message(FATAL_ERROR "two-column: ${tokens} test tokens, expected 6")
    endif()
    # Bad input names file:line.
    file(WRITE ${WORK_DIR}/bad.txt "a\tO\nb\n")
    run_tagger(1 ${small} --train bad.txt --valid train.txt)
    if(NOT err MATCHES "bad.txt:2: expected 'word<TAB>tag'")
      message(FATAL_ERROR "a one-field line should be an error naming file:line, got:\n${err}")
    endif()
    file(WRITE ${WORK_DIR}/bad.conllu "1\tdogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n2\tbark\tbark\tVERB\n\n")
    run_tagger(1 ${small} --train train.conllu --valid bad.conllu)
    if(NOT err MATCHES "bad.conllu:2:")
      message(FATAL_ERROR "a short CoNLL-U line should be an error naming file:line, got:\n${err}")
    endif()
    file(WRITE ${WORK_DIR}/notag.conllu "1\tdogs\tdog\t_\tNNS\t_\t0\troot\t_\t_\n\n")
    run_tagger(1 ${small} --train notag.conllu --valid train.conllu)
    if(NOT err MATCHES "notag.conllu:1: the word 'dogs' has no upos tag")
      message(FATAL_ERROR "a word without its tag should be an error naming file:line, got:\n${err}")
    endif()
    run_tagger(1 ${small} --train train.conllu)
    if(NOT err MATCHES "--train needs --valid")
      message(FATAL_ERROR "--train without --valid should be an error, got:\n${err}")
    endif()
  else()
    message(FATAL_ERROR "TAGGER_MODE must be synthetic or files")
  endif()
  return()
endif()

if(TAPENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/tagger/main.cpp)
  foreach(mode synthetic files)
    set(name example_tagger)
    if(mode STREQUAL "files")
      set(name example_tagger_files)
    endif()
    add_test(NAME ${name}
      COMMAND ${CMAKE_COMMAND} -DTAGGER=$<TARGET_FILE:tagger> -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/${name}
              -DTAGGER_MODE=${mode} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
