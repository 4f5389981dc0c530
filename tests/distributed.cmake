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
  endif()
endif()
