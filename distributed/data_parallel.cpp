#include "distributed/data_parallel.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace tapenet::distributed {

namespace {

template <class T>
std::size_t bytes_of(const Tensor<T>& t) {
  return t.size() * sizeof(T);
}

// Entries [begin, end) of p's grad += this rank's chunks, in chunk order.
template <class T>
void add_my_chunks(Parameter<T>* p, std::size_t begin, std::size_t end, const ChunkResults<T>& mine) {
  for (const GradientBuffer<T>& chunk : mine.grads) chunk.add_into(p, p->grad.data(), begin, end);
}

// Messages of at most this many bytes: while rank r + 1 adds its chunks onto segment k,
// rank r works on segment k + 1, so the chain's fill time is (ranks - 1) segments, not
// (ranks - 1) of the largest parameter.
constexpr std::size_t kSegmentBytes = std::size_t(1) << 20;

// The loss sum in chunk order, from every rank's chunk losses gathered in rank order
// (ranks own contiguous chunks, so rank order is chunk order).
template <class T>
T ordered_loss_sum(const World& world, const std::vector<T>& my_losses) {
  T total = 0;
  for (T l : world.all_gather(my_losses)) total += l;
  return total;
}

ReductionStats stats;

}  // namespace

const ReductionStats& reduction_stats() { return stats; }

ChunkRange owned_chunks(std::size_t chunks, int rank, int ranks) {
  if (ranks <= 0 || rank < 0 || rank >= ranks) throw DistributedError("owned_chunks: rank out of range");
  const auto r = std::size_t(rank), n = std::size_t(ranks);
  return {chunks * r / n, chunks * (r + 1) / n};
}

template <class T>
T reduce_in_chunk_order(const World& world, const ParameterList<T>& params, const ChunkResults<T>& mine) {
  const auto start = std::chrono::steady_clock::now();
  const T loss = ordered_loss_sum(world, mine.losses);
  const int rank = world.rank(), last = world.size() - 1;
  const std::size_t segment = kSegmentBytes / sizeof(T);
  int tag = 0;
  for (Parameter<T>* p : params)  // segment by segment: a pipeline down the chain
    for (std::size_t begin = 0; begin < p->grad.size(); begin += segment, tag = (tag + 1) % 32768) {
      const std::size_t end = std::min(p->grad.size(), begin + segment);
      T* data = p->grad.data() + begin;
      if (rank > 0) world.receive(data, (end - begin) * sizeof(T), rank - 1, tag);
      add_my_chunks(p, begin, end, mine);
      if (rank < last) world.send(data, (end - begin) * sizeof(T), rank + 1, tag);
    }
  for (Parameter<T>* p : params) world.broadcast(p->grad.data(), bytes_of(p->grad), last);
  ++stats.calls;
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const Parameter<T>* p : params) stats.bytes += double(bytes_of(p->grad));
  return loss;
}

template <class T>
T distributed_chunks(const World& world, std::size_t chunks, const ChunkLossFn<T>& chunk_loss,
                     const ParameterList<T>& params, int threads) {
  const ChunkRange mine = owned_chunks(chunks, world.rank(), world.size());
  const ChunkResults<T> results = backward_chunks(mine.first, mine.last, chunk_loss, threads);
  return reduce_in_chunk_order(world, params, results);
}

template <class T>
T distributed_batch(const World& world, std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                    const ParameterList<T>& params, const ParallelOptions& options) {
  return distributed_chunks(world, chunk_count(n, options), per_example_chunks(n, loss_of, options), params,
                            options.threads);
}

template <class T>
T distributed_evaluate(const World& world, std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                       const ParallelOptions& options) {
  const ChunkRange mine = owned_chunks(chunk_count(n, options), world.rank(), world.size());
  return ordered_loss_sum(world, evaluate_chunks(mine.first, mine.last, per_example_chunks(n, loss_of, options),
                                                 options.threads));
}

template <class T>
void broadcast_parameters(const World& world, const ParameterList<T>& params, int root) {
  for (Parameter<T>* p : params) world.broadcast(p->value.data(), bytes_of(p->value), root);
}

template <class T>
void broadcast_tensors(const World& world, std::map<std::string, Tensor<T>>& tensors, int root) {
  if (!world.distributed()) return;
  // The names and shapes first, as one text: "name\trank\td0\td1...\n" per tensor.
  std::string layout;
  if (world.rank() == root)
    for (const auto& [name, t] : tensors) {
      layout += name + "\t" + std::to_string(t.dimension());
      for (std::size_t d : t.shape()) layout += "\t" + std::to_string(d);
      layout += "\n";
    }
  world.broadcast(layout, root);
  if (world.rank() != root) {
    tensors.clear();
    std::size_t at = 0;
    while (at < layout.size()) {
      const std::size_t end = layout.find('\n', at);
      std::vector<std::string> fields;
      for (std::size_t f = at; f <= end;) {
        const std::size_t tab = std::min(layout.find('\t', f), end);
        fields.push_back(layout.substr(f, tab - f));
        f = tab + 1;
      }
      Shape shape;
      for (std::size_t d = 2; d < fields.size(); ++d) shape.push_back(std::stoul(fields[d]));
      tensors.emplace(fields[0], zeros<T>(shape));
      at = end + 1;
    }
  }
  for (auto& [name, t] : tensors) world.broadcast(t.data(), bytes_of(t), root);
}

#define TAPENET_INSTANTIATE(T)                                                                                     \
  template T reduce_in_chunk_order<T>(const World&, const ParameterList<T>&, const ChunkResults<T>&);              \
  template T distributed_chunks<T>(const World&, std::size_t, const ChunkLossFn<T>&, const ParameterList<T>&, int); \
  template T distributed_batch<T>(const World&, std::size_t, const std::function<Var<T>(Tape<T>&, std::size_t)>&,  \
                                  const ParameterList<T>&, const ParallelOptions&);                                \
  template T distributed_evaluate<T>(const World&, std::size_t,                                                    \
                                     const std::function<Var<T>(Tape<T>&, std::size_t)>&, const ParallelOptions&); \
  template void broadcast_parameters<T>(const World&, const ParameterList<T>&, int);                               \
  template void broadcast_tensors<T>(const World&, std::map<std::string, Tensor<T>>&, int);
TAPENET_INSTANTIATE(float)
TAPENET_INSTANTIATE(double)
#undef TAPENET_INSTANTIATE

}  // namespace tapenet::distributed
