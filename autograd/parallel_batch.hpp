// Data-parallel minibatches with results that do not depend on the thread count.
//
// The n examples of a minibatch are cut into fixed chunks of `chunk_size` consecutive
// examples — the cut depends only on n and chunk_size, never on the threads. TBB runs the
// chunks; each chunk records its examples on its own tape, runs one backward, and flushes
// its parameter gradients into a private GradientBuffer. Parameters are only read while
// the chunks run. Afterwards the buffers are added into Parameter::grad in chunk order, and
// the chunk losses are summed in chunk order. Every floating-point sum therefore happens
// in the same order with 1, 2 or N threads: gradients and losses are bit-for-bit equal.
//
// BLAS threading: while the chunks run, OpenBLAS is set to 1 thread (TBB already uses the
// cores; nested BLAS threads would oversubscribe them) and restored afterwards.
#pragma once

#include <cstddef>
#include <functional>

#include "autograd/tape.hpp"

namespace tapenet {

struct ParallelOptions {
  std::size_t chunk_size = 4;  // examples per chunk (and per tape); part of the result's definition
  int threads = 0;             // 0: all cores
};

// Records loss_of(tape, i) for every example i in [0, n) and backpropagates their sum;
// gradients are added into the parameters' grad. Returns the summed loss.
template <class T>
T parallel_batch(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                 const ParallelOptions& options = {});

// As above but without backward (evaluation): returns the summed loss.
template <class T>
T parallel_evaluate(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                    const ParallelOptions& options = {});

// Default thread count used when ParallelOptions::threads is 0.
int default_thread_count();

}  // namespace tapenet
