/// @file
/// Data-parallel minibatches with results that do not depend on the thread count.
///
/// The n examples of a minibatch are cut into fixed chunks of `chunk_size` consecutive
/// examples — the cut depends only on n and chunk_size, never on the threads. TBB runs the
/// chunks; each chunk records its examples on its own tape, runs one backward, and flushes
/// its parameter gradients into a private GradientBuffer. Parameters are only read while
/// the chunks run. Afterwards the buffers are added into Parameter::grad in chunk order, and
/// the chunk losses are summed in chunk order. Every floating-point sum therefore happens
/// in the same order with 1, 2 or N threads: gradients and losses are bit-for-bit equal.
///
/// BLAS threading: while the chunks run, OpenBLAS is set to 1 thread (TBB already uses the
/// cores; nested BLAS threads would oversubscribe them) and restored afterwards.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "autograd/tape.hpp"

namespace tapenet {

struct ParallelOptions {
  std::size_t chunk_size = 4;  ///< examples per chunk (and per tape); part of the result's definition
  int threads = 0;             ///< 0: all cores
};

/// Records loss_of(tape, i) for every example i in [0, n) and backpropagates their sum;
/// gradients are added into the parameters' grad. Returns the summed loss.
template <class T>
T parallel_batch(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                 const ParallelOptions& options = {});

/// As above but without backward (evaluation): returns the summed loss.
template <class T>
T parallel_evaluate(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                    const ParallelOptions& options = {});

/// Default thread count used when ParallelOptions::threads is 0.
int default_thread_count();

// ---- the same machinery one level down: chunks given by the caller --------------------------
// For models that record a whole chunk at once (a language model's lanes as one batched
// matrix) and for the reduction across processes in distributed/, which runs each process's
// chunks here and sums them in chunk order itself.

/// Records chunk c (its summed loss) on the given tape.
template <class T>
using ChunkLossFn = std::function<Var<T>(Tape<T>&, std::size_t chunk)>;

/// What chunks [first, last) contribute, entry c - first for chunk c.
template <class T>
struct ChunkResults {
  std::vector<GradientBuffer<T>> grads;
  std::vector<T> losses;
};

/// Runs chunks [first, last) on `threads` threads (0: all cores), each on its own tape with
/// its own backward and gradient buffer; touches no Parameter::grad.
template <class T>
ChunkResults<T> backward_chunks(std::size_t first, std::size_t last, const ChunkLossFn<T>& chunk_loss, int threads);
/// As above without backward: the chunk losses.
template <class T>
std::vector<T> evaluate_chunks(std::size_t first, std::size_t last, const ChunkLossFn<T>& chunk_loss, int threads);

/// parallel_batch for chunks given by the caller: backward_chunks over [0, chunks), the
/// buffers added into Parameter::grad and the losses summed, both in chunk order.
template <class T>
T parallel_chunks(std::size_t chunks, const ChunkLossFn<T>& chunk_loss, int threads = 0);

/// How parallel_batch cuts an n-example batch: chunk c holds the examples
/// [c * chunk_size, min(n, (c + 1) * chunk_size)); chunk_loss records their summed loss.
std::size_t chunk_count(std::size_t n, const ParallelOptions& options);
template <class T>
ChunkLossFn<T> per_example_chunks(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                                  const ParallelOptions& options);

}  // namespace tapenet
