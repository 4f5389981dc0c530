/// @file
/// Data-parallel training across processes, bit-identical to one process.
///
/// A global minibatch is cut into fixed chunks exactly as parallel_batch cuts it (the cut
/// depends on the batch and the chunk size only). Rank r owns a contiguous run of chunks,
/// records and backpropagates them on its threads (one tape per chunk, as parallel_batch),
/// and only ever calls the loss function for its own examples: each rank reads its shard.
///
/// The reduction keeps one process's order. One process computes, per gradient element,
/// @code{.unparsed}
///   grad + g_0 + g_1 + ... + g_{C-1}        (left to right, chunk order)
/// @endcode
/// Here the partial sum travels down a chain of ranks: rank 0 adds its chunks and sends
/// the parameter's gradient to rank 1, which adds its chunks onto it, and so on; the last
/// rank broadcasts the result. Every rank adds the same operands in the same order as one
/// process would, so losses and gradients are the same bits for any number of ranks and
/// threads. Gradients go in messages of at most 1 MiB, so rank r+1 folds segment k while
/// rank r folds segment k+1: the chain is a pipeline, and each rank sends and receives the
/// gradient once plus the broadcast (about 2x the gradient's bytes, as a ring all-reduce),
/// with a fill latency of (ranks - 1) messages of at most 1 MiB (large parameters go in
/// segments).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "autograd/parallel_batch.hpp"
#include "distributed/world.hpp"

namespace tapenet::distributed {

/// The chunks rank `rank` of `ranks` owns: [first, last), contiguous, sizes differing by at
/// most one (a rank may own none when there are fewer chunks than ranks).
struct ChunkRange {
  std::size_t first = 0, last = 0;
};
ChunkRange owned_chunks(std::size_t chunks, int rank, int ranks);

/// Adds `mine` (the results of this rank's chunks, starting at chunk `first`) into the
/// parameters' grad across the world in chunk order as described above; every rank ends
/// with the same grad. Returns the sum of all chunk losses in chunk order (0 + l_0 + ...).
template <class T>
T reduce_in_chunk_order(const World& world, const ParameterList<T>& params, const ChunkResults<T>& mine);

/// parallel_chunks across the world: this rank's chunks on `threads` threads, then the
/// ordered reduction. Their grad must be equal on every rank before (zero, as after
/// zero_grad: ranks other than 0 overwrite theirs). `params` must be every parameter the chunks can reach, in the same
/// order on every rank. Returns the summed loss (the same on every rank).
template <class T>
T distributed_chunks(const World& world, std::size_t chunks, const ChunkLossFn<T>& chunk_loss,
                     const ParameterList<T>& params, int threads = 0);

/// parallel_batch across the world: loss_of(tape, i) is called only for this rank's examples.
template <class T>
T distributed_batch(const World& world, std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                    const ParameterList<T>& params, const ParallelOptions& options = {});

/// parallel_evaluate across the world (no gradients): the summed loss on every rank.
template <class T>
T distributed_evaluate(const World& world, std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                       const ParallelOptions& options = {});

/// What the reductions of this process cost so far: calls, seconds inside
/// reduce_in_chunk_order (waiting for slower ranks included) and gradient bytes reduced.
struct ReductionStats {
  std::size_t calls = 0;
  double seconds = 0;
  double bytes = 0;
};
const ReductionStats& reduction_stats();

/// Start-up: the values of `params` (in order) from `root` to every rank.
template <class T>
void broadcast_parameters(const World& world, const ParameterList<T>& params, int root = 0);

/// Named tensors (optimizer state, a checkpoint's entries) from `root`: the receivers'
/// maps become the root's.
template <class T>
void broadcast_tensors(const World& world, std::map<std::string, Tensor<T>>& tensors, int root = 0);

}  // namespace tapenet::distributed
