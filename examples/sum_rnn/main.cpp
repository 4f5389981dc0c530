// A classic toy of backpropagation-through-time tutorials: an Elman RNN (Elman 1990) that
// learns to output the running sum of its inputs. Backpropagation through time is not
// written anywhere: the time loop below records every step on the tape and backward()
// walks it in reverse.
//
//   h_t = tanh(h_{t-1} W_hhᵀ + x_t W_xhᵀ + b_h)      y_t = h_t W_hyᵀ + b_y
//   loss = mean_t mse(y_t, Σ_{i<=t} x_i)
//
// Usage: sum_rnn [--data FILE] [--steps N] [--metrics-out FILE] [--checkpoint FILE] [--resume] [--plot F.svg]
//   --data FILE: one sequence per line, whitespace-separated numbers (default: synthetic).
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/replicas.hpp"
#include "../common/plot.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/run_config.hpp"
#include "../common/train_loop.hpp"
#include <tapenet/autograd/ops.hpp>
#include <tapenet/optim/checkpoint.hpp>
#include <tapenet/optim/optimizer.hpp>

using namespace tapenet;
using Sequences = std::vector<std::vector<float>>;

namespace {

constexpr std::size_t kHidden = 16;

struct SumRnn {
  Parameter<float> W_hh, W_xh, b_h, W_hy, b_y;

  explicit SumRnn(std::mt19937_64& rng)
      : W_hh("W_hh", random({kHidden, kHidden}, 0.2f, rng)),
        W_xh("W_xh", random({kHidden, 1}, 0.5f, rng)),
        b_h("b_h", zeros<float>({1, kHidden})),
        W_hy("W_hy", random({1, kHidden}, 0.3f, rng)),
        b_y("b_y", zeros<float>({1, 1})) {}

  ParameterList<float> parameters() { return {&W_hh, &W_xh, &b_h, &W_hy, &b_y}; }

  static Tensor<float> random(const Shape& shape, float scale, std::mt19937_64& rng) {
    std::normal_distribution<float> normal(0.f, scale);
    Tensor<float> t = Tensor<float>::from_shape(shape);
    for (auto& v : t) v = normal(rng);
    return t;
  }

  // Mean squared error over all steps of a batch of equal-length sequences.
  Var<float> loss(Tape<float>& tape, const Sequences& batch) {
    const std::size_t B = batch.size(), T = batch[0].size();
    Var<float> h = tape.constant(zeros<float>({B, kHidden}));
    Tensor<float> running = zeros<float>({B, 1});
    Var<float> total = tape.constant(zeros<float>({1}));
    for (std::size_t t = 0; t < T; ++t) {
      Tensor<float> x = Tensor<float>::from_shape({B, 1});
      for (std::size_t b = 0; b < B; ++b) running(b, 0) += x(b, 0) = batch[b][t];
      // h_t = tanh(h_{t-1} W_hhᵀ + x_t W_xhᵀ + b_h)
      h = tanh(matmul(h, tape.param(W_hh), false, true) + matmul(tape.constant(x), tape.param(W_xh), false, true) +
               tape.param(b_h));
      // y_t = h_t W_hyᵀ + b_y
      Var<float> y = matmul(h, tape.param(W_hy), false, true) + tape.param(b_y);
      total = total + mse(y, tape.constant(running));
    }
    return total / float(T);
  }
};

Sequences synthetic(std::size_t count, std::size_t length, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Sequences s(count, std::vector<float>(length));
  for (auto& seq : s)
    for (auto& v : seq) v = u(rng);
  return s;
}

Sequences read_sequences(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  Sequences s;
  std::string line;
  for (std::size_t lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream fields(line);
    std::vector<float> seq;
    std::string field;
    while (fields >> field) {
      try {
        seq.push_back(std::stof(field));
      } catch (const std::exception&) {
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": not a number: '" + field + "'");
      }
    }
    if (seq.empty()) continue;
    if (!s.empty() && seq.size() != s[0].size())
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": sequence of length " + std::to_string(seq.size()) +
                               ", expected " + std::to_string(s[0].size()));
    s.push_back(std::move(seq));
  }
  if (s.size() < 2) throw std::runtime_error(path + ": needs at least 2 sequences");
  return s;
}

Sequences batch_of(const Sequences& data, std::size_t size, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::size_t> pick(0, data.size() - 1);
  Sequences batch;
  for (std::size_t i = 0; i < size; ++i) batch.push_back(data[pick(rng)]);
  return batch;
}

}  // namespace

int run(int argc, char** argv) {
  examples::Args args(argc, argv, {"data", "steps", "metrics-out", "checkpoint", "resume", "seed", "plot"}, {"resume"},
                      "usage: sum_rnn [--data FILE] [--steps N] [--metrics-out FILE] [--checkpoint FILE] [--resume]\n"
                      "               [--seed N] [--plot FILE.svg]");
  const std::string checkpoint = args.str("checkpoint", "sum_rnn_checkpoint.npz");
  examples::RunRecord saved;
  if (args.has("resume")) saved = examples::read_run_record(checkpoint, {"curves"});
  examples::RunConfig config(args, args.has("resume") ? &saved.config : nullptr);
  const std::size_t steps = config.count("steps", 1500, examples::Policy::Tunable);
  const auto seed = static_cast<std::uint64_t>(config.integer("seed", 1, examples::Policy::Fixed));
  config.text("data", args.str("data", "synthetic"));

  Sequences all = args.has("data") ? read_sequences(args.str("data")) : synthetic(2000, 10, seed);
  const std::size_t n_valid = std::max<std::size_t>(1, all.size() / 10);
  Sequences valid(all.end() - static_cast<std::ptrdiff_t>(n_valid), all.end());
  Sequences train(all.begin(), all.end() - static_cast<std::ptrdiff_t>(n_valid));

  std::mt19937_64 init_rng(seed);
  SumRnn model(init_rng);
  Adam<float> optimizer(model.parameters(), AdamOptions().with_lr(0.01));
  examples::RunPlot plot(args.str("plot"), {"step", "mean squared error", "sum_rnn: Elman RNN, hidden 16", ""});
  examples::LoopState loop;
  if (args.has("resume")) {
    loop = saved.loop;
    optimizer.load_state_dict(load_checkpoint(checkpoint, model.parameters()));
    plot.restore(saved.texts.at("curves"), double(loop.step));
    std::cerr << "resumed from " << checkpoint << " at step " << loop.step << "\n";
  }

  auto validation_loss = [&] {
    NoGradGuard no_grad;
    Tape<float> tape;
    return model.loss(tape, valid).item();
  };
  std::cout << "training an Elman RNN (hidden " << kHidden << ") to sum " << train[0].size()
            << "-step sequences; validation mse before: " << validation_loss() << "\n";
  Tape<float> tape;
  float train_loss = NAN, valid_loss = NAN;
  examples::LoopOptions lo;
  lo.epochs = std::numeric_limits<std::size_t>::max();  // "epochs" of 100 random batches, up to --steps
  lo.max_steps = steps;
  lo.evaluate_at_stop = true;
  lo.unit = "steps";
  lo.total_items = double(steps > loop.step ? steps - loop.step : 0);
  examples::LoopHooks hooks;
  hooks.start_epoch = [&](std::size_t) { return std::size_t(100); };
  hooks.train_batch = [&](const examples::LoopState& st) {
    std::mt19937_64 batch_rng(seed * 1000003 + st.step);  // a pure function of the step: resumable
    tape.clear();
    Var<float> loss = model.loss(tape, batch_of(train, 32, batch_rng));
    optimizer.zero_grad();
    tape.backward(loss);
    clip_grad_norm(model.parameters(), 1.0f);
    optimizer.step();
    train_loss = loss.item();
    return examples::StepResult{train_loss, 1.0};
  };
  hooks.status = [&](const examples::LoopState&) {
    std::ostringstream status;
    status << "train mse " << train_loss << "  valid mse " << valid_loss;
    return status.str();
  };
  hooks.evaluate = [&](const examples::LoopState& st) {
    valid_loss = validation_loss();
    plot.add("train mse", double(st.step), train_loss);
    plot.add("valid mse", double(st.step), valid_loss);
    plot.draw();
    return examples::Evaluation{};  // nothing is selected: the last step's model is kept
  };
  hooks.save = [&](const examples::LoopState& st) {
    examples::save_run(checkpoint, model.parameters(), optimizer.state_dict(),
                       examples::RunRecord{config.values(), st, {{"curves", plot.record()}}});
  };
  const examples::LoopOutcome outcome = examples::run_training_loop(lo, hooks, loop);
  const float final_valid = validation_loss();
  std::cout << "validation mse after " << loop.step << " steps: " << final_valid << "\n";
  examples::Metrics metrics;
  metrics.set("train_mse", train_loss);
  metrics.set("valid_mse", final_valid);
  metrics.set("steps", double(loop.step));
  metrics.set("train_s", outcome.session_train_seconds);
  metrics.write(args.str("metrics-out"));
  return 0;
}

int main(int argc, char** argv) {
  return tapenet::examples::run_example("sum_rnn", argc, argv, run, tapenet::examples::Processes::One);
}
