#include "autograd/parallel_batch.hpp"

#include <cblas.h>
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "autograd/ops.hpp"

namespace tapenet {

namespace {

// Sets OpenBLAS to one thread for the lifetime of the guard.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : previous_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~SingleThreadedBlas() { openblas_set_num_threads(previous_); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_;
};

// Runs chunk(c) for c in [0, chunks) on `threads` threads.
template <class F>
void for_each_chunk(std::size_t chunks, int threads, F chunk) {
  SingleThreadedBlas blas;
  tbb::task_arena arena(threads > 0 ? threads : default_thread_count());
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t c = r.begin(); c != r.end(); ++c) chunk(c);
    });
  });
}

// The summed loss of examples [begin, end) recorded on `tape`.
template <class T>
Var<T> chunk_loss(Tape<T>& tape, std::size_t begin, std::size_t end,
                  const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of) {
  std::vector<Var<T>> losses;
  for (std::size_t i = begin; i < end; ++i) {
    Var<T> l = loss_of(tape, i);
    if (l.size() != 1) throw ShapeError("parallel_batch", "loss of example " + std::to_string(i) + " has shape " + shape_str(l.shape()));
    losses.push_back(reshape(l, {1}));
  }
  return sum(concat(losses, 0));
}

// A recycled tape per thread (Tape::clear keeps its nodes and gradient buffers), so the
// chunks of consecutive minibatches allocate no new nodes. A loss_of that itself calls
// parallel_batch on the same thread gets a fresh tape instead.
template <class T>
class ChunkTape {
 public:
  ChunkTape() {
    if (!slot().in_use) {
      tape_ = &slot().tape;
      slot().in_use = true;
    } else {
      own_ = std::make_unique<Tape<T>>();
      tape_ = own_.get();
    }
    tape_->clear();
  }
  ~ChunkTape() {
    tape_->clear();
    tape_->set_gradient_sink(nullptr);
    if (!own_) slot().in_use = false;
  }
  ChunkTape(const ChunkTape&) = delete;
  ChunkTape& operator=(const ChunkTape&) = delete;
  Tape<T>& operator*() { return *tape_; }

 private:
  struct Slot {
    Tape<T> tape;
    bool in_use = false;
  };
  static Slot& slot() {
    thread_local Slot s;
    return s;
  }
  Tape<T>* tape_ = nullptr;
  std::unique_ptr<Tape<T>> own_;
};

}  // namespace

int default_thread_count() { return tbb::info::default_concurrency(); }

std::size_t chunk_count(std::size_t n, const ParallelOptions& o) {
  if (o.chunk_size == 0) throw std::invalid_argument("parallel_batch: chunk_size must be positive");
  return (n + o.chunk_size - 1) / o.chunk_size;
}

template <class T>
ChunkLossFn<T> per_example_chunks(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of,
                                  const ParallelOptions& o) {
  chunk_count(n, o);  // validates chunk_size
  return [n, loss_of, size = o.chunk_size](Tape<T>& tape, std::size_t c) {
    return chunk_loss(tape, c * size, std::min(n, (c + 1) * size), loss_of);
  };
}

template <class T>
ChunkResults<T> backward_chunks(std::size_t first, std::size_t last, const ChunkLossFn<T>& chunk_loss, int threads) {
  ChunkResults<T> out;
  out.grads.resize(last - first);
  out.losses.assign(last - first, T(0));
  for_each_chunk(last - first, threads, [&](std::size_t k) {
    ChunkTape<T> chunk_tape;
    Tape<T>& tape = *chunk_tape;
    tape.set_gradient_sink(&out.grads[k]);
    Var<T> loss = chunk_loss(tape, first + k);
    if (loss.size() != 1) throw ShapeError("parallel_batch", "loss of chunk " + std::to_string(first + k) + " has shape " + shape_str(loss.shape()));
    out.losses[k] = loss.item();
    if (loss.requires_grad()) tape.backward(loss);
  });
  return out;
}

template <class T>
std::vector<T> evaluate_chunks(std::size_t first, std::size_t last, const ChunkLossFn<T>& chunk_loss, int threads) {
  std::vector<T> losses(last - first, T(0));
  for_each_chunk(last - first, threads, [&](std::size_t k) {
    NoGradGuard no_grad;  // thread-local: applies to this chunk only
    ChunkTape<T> chunk_tape;
    losses[k] = chunk_loss(*chunk_tape, first + k).item();
  });
  return losses;
}

template <class T>
T parallel_chunks(std::size_t chunks, const ChunkLossFn<T>& chunk_loss, int threads) {
  const ChunkResults<T> r = backward_chunks(0, chunks, chunk_loss, threads);
  T total = 0;
  for (std::size_t c = 0; c < chunks; ++c) {  // fixed order: independent of the threads
    r.grads[c].add_into_parameters();
    total += r.losses[c];
  }
  return total;
}

template <class T>
T parallel_batch(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of, const ParallelOptions& o) {
  return parallel_chunks(chunk_count(n, o), per_example_chunks(n, loss_of, o), o.threads);
}

template <class T>
T parallel_evaluate(std::size_t n, const std::function<Var<T>(Tape<T>&, std::size_t)>& loss_of, const ParallelOptions& o) {
  T total = 0;
  for (T l : evaluate_chunks(0, chunk_count(n, o), per_example_chunks(n, loss_of, o), o.threads)) total += l;
  return total;
}

#define TAPENET_INSTANTIATE(T)                                                                                      \
  template T parallel_batch<T>(std::size_t, const std::function<Var<T>(Tape<T>&, std::size_t)>&,                    \
                               const ParallelOptions&);                                                             \
  template T parallel_evaluate<T>(std::size_t, const std::function<Var<T>(Tape<T>&, std::size_t)>&,                 \
                                  const ParallelOptions&);                                                          \
  template T parallel_chunks<T>(std::size_t, const ChunkLossFn<T>&, int);                                           \
  template ChunkResults<T> backward_chunks<T>(std::size_t, std::size_t, const ChunkLossFn<T>&, int);                \
  template std::vector<T> evaluate_chunks<T>(std::size_t, std::size_t, const ChunkLossFn<T>&, int);                 \
  template ChunkLossFn<T> per_example_chunks<T>(std::size_t, const std::function<Var<T>(Tape<T>&, std::size_t)>&,   \
                                                const ParallelOptions&);
TAPENET_INSTANTIATE(float)
TAPENET_INSTANTIATE(double)
#undef TAPENET_INSTANTIATE

}  // namespace tapenet
