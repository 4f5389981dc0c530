// parallel_batch: gradients and losses are bit-for-bit identical for 1, 2 and N threads,
// and equal (to rounding) to a plain sequential loop over the same examples.
#define BOOST_TEST_MODULE parallel_batch
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <random>

#include "autograd/ops.hpp"
#include "autograd/parallel_batch.hpp"
#include "layers/cells.hpp"
#include "layers/init.hpp"
#include "layers/sequence.hpp"

using namespace tapenet;

namespace {

// A variable-length Elman sequence loss: examples differ in length and content.
struct ElmanFixture {
  std::mt19937_64 rng{3};
  Parameter<float> W{"W", init::orthogonal<float>(8, 8, rng, 0.9)};
  Parameter<float> U{"U", init::glorot_uniform<float>({8, 4}, rng)};
  Parameter<float> V{"V", init::glorot_uniform<float>({3, 8}, rng)};
  std::vector<std::vector<Tensor<float>>> inputs;
  std::vector<std::int64_t> labels;

  explicit ElmanFixture(std::size_t n) {
    std::uniform_int_distribution<std::size_t> length(1, 12);
    std::uniform_int_distribution<std::int64_t> label(0, 2);
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<Tensor<float>> seq;
      for (std::size_t t = length(rng); t > 0; --t) seq.push_back(init::normal<float>({1, 4}, 1.0, rng));
      inputs.push_back(seq);
      labels.push_back(label(rng));
    }
  }
  ParameterList<float> params() { return {&W, &U, &V}; }

  Var<float> loss(Tape<float>& tape, std::size_t i) {
    Var<float> h = tape.constant(zeros<float>({1, 8}));
    for (const auto& x : inputs[i])
      h = tanh(matmul(h, tape.param(W), false, true) + matmul(tape.constant(x), tape.param(U), false, true));
    return cross_entropy(matmul(h, tape.param(V), false, true), {labels[i]});
  }
};

struct Run {
  float loss;
  std::vector<Tensor<float>> grads;
};

Run run_with_threads(ElmanFixture& f, int threads) {
  for (auto* p : f.params()) p->zero_grad();
  ParallelOptions options;
  options.threads = threads;
  options.chunk_size = 3;
  float loss = parallel_batch<float>(f.inputs.size(), [&](Tape<float>& t, std::size_t i) { return f.loss(t, i); }, options);
  Run r{loss, {}};
  for (auto* p : f.params()) r.grads.push_back(p->grad);
  return r;
}

bool bit_identical(const Tensor<float>& a, const Tensor<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gradients_are_bit_identical_for_any_thread_count) {
  ElmanFixture f(37);
  const Run one = run_with_threads(f, 1);
  for (int threads : {2, 3, 8}) {
    const Run many = run_with_threads(f, threads);
    BOOST_TEST(std::memcmp(&one.loss, &many.loss, sizeof(float)) == 0, "loss differs with " << threads << " threads");
    for (std::size_t k = 0; k < one.grads.size(); ++k)
      BOOST_TEST(bit_identical(one.grads[k], many.grads[k]), "gradient " << k << " differs with " << threads << " threads");
  }
}

BOOST_AUTO_TEST_CASE(matches_a_sequential_loop) {
  ElmanFixture f(10);
  const Run parallel = run_with_threads(f, 2);
  for (auto* p : f.params()) p->zero_grad();
  float total = 0;
  for (std::size_t i = 0; i < f.inputs.size(); ++i) {
    Tape<float> tape;
    Var<float> l = f.loss(tape, i);
    total += l.item();
    tape.backward(l);
  }
  BOOST_TEST(std::abs(total - parallel.loss) < 1e-4f * std::abs(total));
  auto params = f.params();
  for (std::size_t k = 0; k < params.size(); ++k) {
    const float diff = xt::amax(xt::abs(params[k]->grad - parallel.grads[k]))();
    BOOST_TEST(diff < 1e-5f, "gradient " << k << " differs by " << diff);
  }
}

BOOST_AUTO_TEST_CASE(evaluate_sums_losses_without_touching_gradients) {
  ElmanFixture f(9);
  for (auto* p : f.params()) p->zero_grad();
  const Run trained = run_with_threads(f, 2);
  for (auto* p : f.params()) p->zero_grad();
  ParallelOptions options;
  options.chunk_size = 3;  // the chunking run_with_threads uses: same sums in the same order
  float evaluated =
      parallel_evaluate<float>(f.inputs.size(), [&](Tape<float>& t, std::size_t i) { return f.loss(t, i); }, options);
  BOOST_TEST(evaluated == trained.loss);
  for (auto* p : f.params()) BOOST_TEST(xt::amax(xt::abs(p->grad))() == 0.0f);
}

BOOST_AUTO_TEST_CASE(an_exception_in_one_example_reaches_the_caller) {
  ElmanFixture f(8);
  auto failing = [&](Tape<float>& t, std::size_t i) {
    if (i == 5) throw std::runtime_error("example 5 is malformed");
    return f.loss(t, i);
  };
  BOOST_CHECK_EXCEPTION(parallel_batch<float>(8, failing), std::runtime_error,
                        [](const std::runtime_error& e) { return std::string(e.what()) == "example 5 is malformed"; });
}

// The same guarantee for the recurrent layers: minibatches of padded LSTM sequences (each
// chunk one masked [T·B, D] batch on its own tape) give bit-identical gradients.
BOOST_AUTO_TEST_CASE(lstm_sequence_gradients_are_bit_identical_for_any_thread_count) {
  std::mt19937_64 rng(5);
  LSTMCell<float> cell(4, 6, rng, LSTMOptions().with_peephole());
  const std::size_t batches = 11, batch = 3, steps = 7;
  std::vector<Tensor<float>> inputs;
  std::vector<std::vector<std::size_t>> lengths;
  std::uniform_int_distribution<std::size_t> length(1, steps);
  for (std::size_t i = 0; i < batches; ++i) {
    inputs.push_back(init::normal<float>({steps * batch, 4}, 1.0, rng));
    lengths.push_back({length(rng), length(rng), steps});
  }
  auto loss_of = [&](Tape<float>& tape, std::size_t i) {
    SequenceOutput<float> run = run_sequence(tape, cell, tape.constant(inputs[i]), batch, lengths[i]);
    return sum(square(concat_outputs(run.outputs))) + sum(run.final.c);
  };
  std::vector<float> losses;
  std::vector<std::vector<Tensor<float>>> grads;
  for (int threads : {1, 2, 4}) {
    for (auto* p : cell.parameters()) p->zero_grad();
    ParallelOptions options;
    options.threads = threads;
    options.chunk_size = 2;
    losses.push_back(parallel_batch<float>(batches, loss_of, options));
    grads.emplace_back();
    for (auto* p : cell.parameters()) grads.back().push_back(p->grad);
  }
  for (std::size_t run = 1; run < losses.size(); ++run) {
    BOOST_TEST(std::memcmp(&losses[0], &losses[run], sizeof(float)) == 0, "loss differs in run " << run);
    for (std::size_t k = 0; k < grads[0].size(); ++k)
      BOOST_TEST(bit_identical(grads[0][k], grads[run][k]), "gradient " << k << " differs in run " << run);
  }
  BOOST_TEST(xt::amax(xt::abs(grads[0][0]))() > 0.0f);  // the gradients are not trivially zero
}
