// Steady-state memory behaviour of a training step: tensor storage comes from the per-thread
// block cache (autograd/storage.hpp) and backward closures live inside the tape's nodes
// (autograd/inline_function.hpp).
#define BOOST_TEST_MODULE storage
#include <boost/test/unit_test.hpp>

#include <vector>
#include <future>
#include <memory>
#include <random>

#include "autograd/inline_function.hpp"
#include "autograd/storage.hpp"
#include "layers/cells.hpp"
#include "layers/sequence.hpp"
#include "optim/optimizer.hpp"
#include "tapenet.hpp"

using namespace tapenet;

namespace {

// One LSTM training step: forward over 6 steps, loss, backward, SGD update.
struct LstmStep {
  std::mt19937_64 rng{11};
  LSTMCell<float> cell{5, 8, rng};
  SGD<float> sgd{cell.parameters(), SGDOptions().with_lr(0.01)};
  Tensor<float> x = init::normal<float>({6 * 3, 5}, 1.0, rng);
  Tape<float> tape;

  void run() {
    tape.clear();
    sgd.zero_grad();
    SequenceOutput<float> out = run_sequence(tape, cell, tape.constant(x), 3);
    tape.backward(sum(concat(out.outputs, 0)));
    sgd.step();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_repeated_training_step_takes_no_tensor_storage_from_the_system) {
  if (tensor_cache_limit() == 0) return;  // sanitizer builds cache nothing, on purpose
  LstmStep step;
  step.run();  // the first steps fill the cache
  step.run();
  for (int i = 0; i < 3; ++i) {
    const std::size_t before = tensor_system_allocations();
    step.run();
    BOOST_TEST(tensor_system_allocations() == before);
  }
  BOOST_TEST(tensor_cache_bytes() > 0u);
}

BOOST_AUTO_TEST_CASE(the_cache_limit_bounds_what_is_kept) {
  const std::size_t saved = tensor_cache_limit();
  set_tensor_cache_limit(0);
  { Tensor<float> t = zeros<float>({1000}); }
  BOOST_TEST(tensor_cache_bytes() == 0u);
  set_tensor_cache_limit(saved);
  release_tensor_cache();
  BOOST_TEST(tensor_cache_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(blocks_freed_on_one_thread_serve_another) {
  // parallel_batch's pattern: a worker allocates, the calling thread frees. After the calling
  // thread's own share fills, its frees reach the shared pool and the workers take from it.
  if (tensor_cache_limit() == 0) return;
  release_tensor_cache();
  auto produce = [] { return std::async(std::launch::async, [] { return zeros<float>({1 << 20}); }).get(); };
  for (int i = 0; i < 12; ++i) produce();  // 4 MB each: fills the calling thread's 32 MB share
  const std::size_t before = tensor_system_allocations();
  for (int i = 0; i < 10; ++i) produce();
  BOOST_TEST(tensor_system_allocations() == before);
  BOOST_TEST(tensor_cache_bytes() <= tensor_cache_limit() + tensor_cache_limit() / 8);
}

BOOST_AUTO_TEST_CASE(a_step_larger_than_the_limit_is_served_from_the_cache_next_time) {
  // A long unroll holds more storage at once than the limit; the pool keeps up to that peak,
  // so the next step faults in no fresh pages.
  if (tensor_cache_limit() == 0) return;
  const std::size_t saved = tensor_cache_limit();
  set_tensor_cache_limit(std::size_t(8) << 20);
  auto step = [] {
    std::vector<Tensor<float>> held;
    for (int i = 0; i < 20; ++i) held.push_back(zeros<float>({1 << 18}));  // 20 × 1 MB live at once
  };
  step();
  const std::size_t before = tensor_system_allocations();
  step();
  BOOST_TEST(tensor_system_allocations() == before);
  set_tensor_cache_limit(saved);
}

BOOST_AUTO_TEST_CASE(storage_is_aligned_for_simd) {
  for (std::size_t n : {1, 3, 17, 1000}) {
    Tensor<double> t = zeros<double>({n});
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0u);
  }
}

BOOST_AUTO_TEST_CASE(inline_function_calls_moves_and_destroys_small_and_large_callables) {
  auto alive = std::make_shared<int>(0);
  struct Big {
    char pad[200];
  };
  {
    InlineFunction<int(int)> small = [alive](int v) { return v + 1; };
    InlineFunction<int(int)> large = [alive, big = Big{}](int v) { return v + int(sizeof(big.pad)); };
    BOOST_TEST(alive.use_count() == 3);
    BOOST_TEST(small(1) == 2);
    BOOST_TEST(large(1) == 201);
    InlineFunction<int(int)> moved = std::move(large);
    BOOST_TEST(!large);
    BOOST_TEST(moved(0) == 200);
    small = nullptr;
    BOOST_TEST(!small);
    BOOST_TEST(alive.use_count() == 2);
    small = std::move(moved);
    BOOST_TEST(small(2) == 202);
  }
  BOOST_TEST(alive.use_count() == 1);  // every capture destroyed exactly once
}
