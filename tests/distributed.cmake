# test_distributed under mpirun: 2 and 3 processes x 1 and 2 threads each, bit-identical to
# one process (the plain `test_distributed` registration is the 1x1 case). CI runs as root
# on 2 cores, hence --allow-run-as-root and --oversubscribe. Not in the sanitizer build:
# Open MPI's own allocations would trip LeakSanitizer.
if(NOT TAPENET_SANITIZE)
  find_program(TAPENET_MPIRUN NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
  if(TAPENET_MPIRUN)
    set(TAPENET_MPIRUN_FLAGS --allow-run-as-root --oversubscribe --bind-to none)
    foreach(config "2;1" "3;1" "2;2" "1;2")
      list(GET config 0 ranks)
      list(GET config 1 threads)
      set(name test_distributed_mpi_${ranks}x${threads})
      add_test(NAME ${name}
               COMMAND ${TAPENET_MPIRUN} ${TAPENET_MPIRUN_FLAGS} -np ${ranks} -x TAPENET_TEST_THREADS
                       $<TARGET_FILE:test_distributed>)
      set_tests_properties(${name} PROPERTIES ENVIRONMENT "TAPENET_TEST_THREADS=${threads}" TIMEOUT 300
                                              PROCESSORS ${ranks})
    endforeach()
    add_test(NAME test_distributed_mpi_stuck_rank
             COMMAND ${TAPENET_MPIRUN} ${TAPENET_MPIRUN_FLAGS} -np 2 -x TAPENET_MPI_TIMEOUT
                     $<TARGET_FILE:test_distributed> --run_test=a_stuck_rank_makes_the_others_give_up)
    set_tests_properties(test_distributed_mpi_stuck_rank PROPERTIES ENVIRONMENT "TAPENET_MPI_TIMEOUT=1" TIMEOUT 15
                         PASS_REGULAR_EXPRESSION "ok: rank 0 in a broadcast from rank 1: no answer for 1.* a rank is stuck")
  endif()
endif()

# The examples under mpirun (tests/mpi_examples.sh): the figures of one process, a run
# stopped under 2 ranks and resumed under 3, a killed rank ending the run with its checkpoint
# intact, a rank started with other options refused.
if(NOT TAPENET_SANITIZE AND TAPENET_MPIRUN AND TAPENET_BUILD_EXAMPLES)
  # mpi_example(NAME MODE PROGRAM ARGS...): tests/mpi_examples.sh MODE on PROGRAM in its own folder.
  function(mpi_example name mode program)
    add_test(NAME ${name}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi_examples.sh ${mode} $<TARGET_FILE:${program}>
                     ${CMAKE_CURRENT_BINARY_DIR}/mpi_examples/${name} ${ARGN})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300 PROCESSORS 2)
  endfunction()

  mpi_example(example_sentiment_mpi same sentiment --epochs 3)
  mpi_example(example_sentiment_mpi_resume resume sentiment --dropout 0.2 -- --epochs 2 -- --epochs 3)
  mpi_example(example_sentiment_mpi_fault fault sentiment --epochs 100000 --patience 100000 --train-size 400
              -- --epochs 1)
  mpi_example(example_sentiment_mpi_mismatch mismatch sentiment --epochs 2 --dim 25 -- --epochs 2 --dim 30)

  set(_char_lm_model --hidden 32 --embed 16 --batch 9 --seq 16 --eval-every 10 --synthetic-chars 20000 --sample 40
      --dropout 0.1 --lane-groups 3)
  mpi_example(example_char_lm_mpi same char_lm ${_char_lm_model} --steps 30 --checkpoint ck.npz)
  mpi_example(example_char_lm_mpi_resume resume char_lm ${_char_lm_model} --lr-schedule constant
              -- --steps 20 -- --steps 30)

  set(_word_lm_model --hidden 16 --bptt 5 --batch 6 --lane-groups 3 --dropout 0.3 --sample 1 --max-vocab 0)
  mpi_example(example_word_lm_mpi same word_lm ${_word_lm_model} --epochs 2 --checkpoint ck.npz)
  mpi_example(example_word_lm_mpi_resume resume word_lm ${_word_lm_model} -- --epochs 2 -- --epochs 3)

  set(_translate_model train --synthetic-size 600 --hidden 24 --embedding 16 --batch 24 --batch-chunks 3
      --dropout 0.2 --eval-limit 40)
  mpi_example(example_translate_mpi same translate ${_translate_model} --epochs 2 --checkpoint ck.npz)
  mpi_example(example_translate_mpi_subwords_resume resume translate ${_translate_model} --subwords bpe
              --vocab-size 300 -- --epochs 1 -- --epochs 2)

  if(EXISTS ${PROJECT_SOURCE_DIR}/examples/tagger/main.cpp)
    set(_tagger_model --train-size 200 --word-dim 16 --char-dim 8 --char-hidden 8 --hidden 16 --batch 8 --chunk 2
        --lr 0.01 --output crf)
    mpi_example(example_tagger_mpi same tagger ${_tagger_model} --epochs 2 --checkpoint ck.npz)
    mpi_example(example_tagger_mpi_resume resume tagger ${_tagger_model} -- --epochs 2 -- --epochs 3)
  endif()
endif()
