// Time-series forecasting with an RNN: predict the next value of a noisy seasonal series
// from the last N points, and compare with the naive "tomorrow = today" baseline.
//
//   many-to-one:  read x_{i-N} .. x_{i-1}, predict x_i from the final state
//                   ŷ_i = run.final.h Wᵀ + b            loss = mse(ŷ_i, x_i)
//   many-to-many: at every step t of the window predict the value at t+1
//                   ŷ = concat_outputs(run.outputs) Wᵀ + b   loss = mean_t mse(ŷ_{t+1}, x_{t+1})
// Both are scored on the same figure: the MSE of the prediction of x_i, the value right
// after the window (for many-to-many, the output of the last step), in original units.
//
// Data: a built-in seeded series y_t = sin(2πt/24) + 0.5 sin(2πt/168) + 0.0005 t + N(0, 0.2²),
// or --data FILE, a one-column CSV (an optional header line). Chronological split 70/15/15;
// values are normalised with the training part's mean and std. A window's inputs may reach
// back into the previous part; its target is always inside its own part.
//
// Usage: forecast [--mode many-to-one|many-to-many] [--cell gru|lstm|elman] [--window N]
//                 [--hidden H] [--epochs E] [--batch B] [--lr LR] [--clip C] [--seed S]
//                 [--data FILE | --points N] [--metrics-out FILE] [--checkpoint FILE [--resume]]
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/progress.hpp"
#include "layers/basic.hpp"
#include "layers/cell_factory.hpp"
#include "layers/sequence.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"

using namespace tapenet;

namespace {

const char* kUsage =
    "usage: forecast [--mode many-to-one|many-to-many] [--cell gru|lstm|elman] [--window N] [--hidden H]\n"
    "                [--epochs E] [--batch B] [--lr LR] [--clip C] [--seed S] [--data FILE | --points N]\n"
    "                [--metrics-out FILE] [--checkpoint FILE [--resume]]";

std::vector<double> synthetic(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.2);
  std::vector<double> y(n);
  for (std::size_t t = 0; t < n; ++t)
    y[t] = std::sin(2 * M_PI * t / 24.0) + 0.5 * std::sin(2 * M_PI * t / 168.0) + 0.0005 * t + noise(rng);
  return y;
}

// One number per line; the first line may be a header; blank lines are skipped.
std::vector<double> read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<double> y;
  std::string line;
  for (std::size_t lineno = 1; std::getline(in, line); ++lineno) {
    const auto first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const std::string field = line.substr(first, last - first + 1);
    std::size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(field, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != field.size() || !std::isfinite(v)) {
      if (lineno == 1) continue;  // a header
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": not a number: '" + field + "'");
    }
    y.push_back(v);
  }
  return y;
}

struct Forecaster : Module<float> {
  std::unique_ptr<RecurrentCell<float>> cell;
  Linear<float> readout;

  Forecaster(const std::string& kind, std::size_t hidden, std::mt19937_64& rng)
      : cell(make_cell<float>(parse_cell(kind), 1, hidden, rng)), readout(hidden, 1, rng) {
    add_module("cell", *cell);
    add_module("readout", readout);
  }
};

}  // namespace

int main(int argc, char** argv) try {
  examples::Args args(argc, argv,
                      {"mode", "cell", "window", "hidden", "epochs", "batch", "lr", "clip", "seed", "data", "points",
                       "metrics-out", "checkpoint", "resume"},
                      {"resume"}, kUsage);
  const std::string mode = args.str("mode", "many-to-one"), cell_kind = args.str("cell", "gru");
  if (mode != "many-to-one" && mode != "many-to-many")
    throw std::invalid_argument("--mode must be many-to-one or many-to-many, not '" + mode + "'");
  const bool seq_targets = mode == "many-to-many";
  auto positive = [&](const char* key, long fallback) {
    const long v = args.integer(key, fallback);
    if (v < 1) throw std::invalid_argument(std::string("--") + key + " must be at least 1");
    return static_cast<std::size_t>(v);
  };
  const std::size_t N = positive("window", 24), hidden = positive("hidden", 32), epochs = positive("epochs", 20),
                    batch = positive("batch", 32), points = positive("points", 3000);
  const double lr = args.num("lr", 3e-3), clip = args.num("clip", 1.0);
  const auto seed = static_cast<std::uint64_t>(args.integer("seed", 1));
  const std::string checkpoint = args.str("checkpoint");
  if (args.has("resume") && checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");

  // ---- data: chronological split, normalised with the training statistics ----
  const std::vector<double> y = args.has("data") ? read_csv(args.str("data")) : synthetic(points, seed);
  const std::size_t n = y.size(), n_train = n * 70 / 100, n_valid = n * 15 / 100;
  if (n_train <= N || n_valid == 0 || n - n_train - n_valid == 0)
    throw std::invalid_argument("the series has " + std::to_string(n) + " points: too short for --window " +
                                std::to_string(N) + " and a 70/15/15 split");
  const double mean = std::accumulate(y.begin(), y.begin() + n_train, 0.0) / n_train;
  double var = 0;
  for (std::size_t i = 0; i < n_train; ++i) var += (y[i] - mean) * (y[i] - mean);
  const double stdev = std::max(std::sqrt(var / n_train), 1e-8);
  std::vector<float> z(n);
  for (std::size_t i = 0; i < n; ++i) z[i] = float((y[i] - mean) / stdev);
  // A sample is the index i of its target: inputs z[i-N .. i-1].
  auto targets_in = [&](std::size_t begin, std::size_t end) {
    std::vector<std::size_t> v;
    for (std::size_t i = std::max(begin, N); i < end; ++i) v.push_back(i);
    return v;
  };
  const auto train = targets_in(0, n_train), valid = targets_in(n_train, n_train + n_valid),
             test = targets_in(n_train + n_valid, n);
  auto baseline_mse = [&](const std::vector<std::size_t>& idx) {  // ŷ_i = y_{i-1}, original units
    double s = 0;
    for (std::size_t i : idx) s += (y[i] - y[i - 1]) * (y[i] - y[i - 1]);
    return s / idx.size();
  };

  // ---- model ----
  std::mt19937_64 init_rng(seed);
  Forecaster model(cell_kind, hidden, init_rng);
  ParameterList<float> params = model.parameters();
  Adam<float> optimizer(params, AdamOptions().with_lr(lr));

  // Predictions (and, for training, the loss) of one batch of samples. `last` is [B, 1]:
  // the prediction of z[i] for each sample i.
  struct Batch { Var<float> loss, last; };
  auto forward = [&](Tape<float>& tape, const std::size_t* idx, std::size_t B) {
    Tensor<float> x = Tensor<float>::from_shape({N * B, 1}), target = Tensor<float>::from_shape({N * B, 1});
    for (std::size_t t = 0; t < N; ++t)
      for (std::size_t b = 0; b < B; ++b) {
        x(t * B + b, 0) = z[idx[b] - N + t];
        target(t * B + b, 0) = z[idx[b] - N + t + 1];  // row (N-1)·B + b is z[i]
      }
    SequenceOutput<float> run = run_sequence(tape, *model.cell, tape.constant(x), B);
    if (seq_targets) {
      Var<float> pred = model.readout.forward(tape, concat_outputs(run.outputs));  // [N·B, 1]
      return Batch{mse(pred, tape.constant(target)), slice(pred, 0, (N - 1) * B, N * B)};
    }
    Var<float> pred = model.readout.forward(tape, run.final.h);  // [B, 1]
    Tensor<float> last = Tensor<float>::from_shape({B, 1});
    for (std::size_t b = 0; b < B; ++b) last(b, 0) = target((N - 1) * B + b, 0);
    return Batch{mse(pred, tape.constant(last)), pred};
  };
  // MSE of the next-value prediction, in original units.
  auto evaluate = [&](const std::vector<std::size_t>& idx) {
    NoGradGuard no_grad;
    double s = 0;
    for (std::size_t k = 0; k < idx.size(); k += 256) {
      const std::size_t B = std::min<std::size_t>(256, idx.size() - k);
      Tape<float> tape;
      Var<float> last = forward(tape, idx.data() + k, B).last;
      for (std::size_t b = 0; b < B; ++b) {
        const double e = double(last.value()(b, 0)) * stdev + mean - y[idx[k + b]];
        s += e * e;
      }
    }
    return s / idx.size();
  };

  // ---- resume: parameters, optimizer, epoch, best validation and its parameters ----
  std::size_t start = 0, best_epoch = 0;
  double best_val = INFINITY;
  std::vector<Tensor<float>> best;
  for (auto* p : params) best.push_back(p->value);
  if (args.has("resume")) {
    auto state = load_checkpoint(checkpoint, params);
    Optimizer<float>::StateDict opt_state;
    for (auto& [key, value] : state)
      if (key.rfind("trainer/", 0) != 0 && key.rfind("best/", 0) != 0) opt_state[key] = value;
    for (const char* key : {"trainer/epoch", "trainer/best_val", "trainer/best_epoch", "trainer/window", "trainer/many_to_many"})
      if (!state.count(key)) throw std::runtime_error(checkpoint + ": no '" + key + "': not a forecast checkpoint");
    auto num = [&](const char* key) { return double(state.at(key)(0)); };
    if (std::size_t(num("trainer/window")) != N || (num("trainer/many_to_many") != 0) != seq_targets)
      throw std::invalid_argument(checkpoint + " was trained with another --window or --mode");
    optimizer.load_state_dict(opt_state);
    start = std::size_t(num("trainer/epoch"));
    best_val = num("trainer/best_val");
    best_epoch = std::size_t(num("trainer/best_epoch"));
    for (std::size_t k = 0; k < params.size(); ++k) best[k] = state.at("best/" + params[k]->name);
    std::cout << "resumed from " << checkpoint << " after epoch " << start << " (best val mse " << best_val << ")\n";
  }
  auto scalar = [](double v) { Tensor<float> t = Tensor<float>::from_shape({1}); t(0) = float(v); return t; };

  const double val_baseline = baseline_mse(valid), test_baseline = baseline_mse(test);
  std::cout << "forecast: " << cell_kind << " (hidden " << hidden << ", " << model.parameter_count() << " parameters), "
            << mode << ", window " << N << "; " << n << " points -> " << train.size() << "/" << valid.size() << "/"
            << test.size() << " train/valid/test windows; val baseline mse " << val_baseline << std::endl;

  // ---- training ----
  const std::size_t per_epoch = (train.size() + batch - 1) / batch;
  examples::Progress progress(epochs > start ? (epochs - start) * per_epoch : 0, "batches");
  Tape<float> tape;
  for (std::size_t epoch = start; epoch < epochs; ++epoch) {
    std::vector<std::size_t> order = train;
    std::mt19937_64 shuffle_rng(seed * 1000003 + epoch);  // a pure function of the epoch: resumable
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    double train_loss = 0;
    for (std::size_t k = 0; k < per_epoch; ++k) {
      const std::size_t B = std::min(batch, order.size() - k * batch);
      tape.clear();
      Var<float> loss = forward(tape, order.data() + k * batch, B).loss;
      optimizer.zero_grad();
      tape.backward(loss);
      clip_grad_norm(params, clip);
      optimizer.step();
      train_loss += loss.item();
      std::ostringstream status;
      status << "epoch " << epoch + 1 << " train mse " << train_loss / (k + 1) * stdev * stdev;
      progress.update((epoch - start) * per_epoch + k + 1, status.str());
    }
    const double val = evaluate(valid);
    if (val < best_val) {
      best_val = val;
      best_epoch = epoch + 1;
      for (std::size_t k = 0; k < params.size(); ++k) best[k] = params[k]->value;
    }
    std::cout << "epoch " << epoch + 1 << ": train mse " << train_loss / per_epoch * stdev * stdev << "  val mse " << val
              << (best_epoch == epoch + 1 ? "  (best)" : "") << std::endl;
    if (!checkpoint.empty()) {
      auto state = optimizer.state_dict();
      state["trainer/epoch"] = scalar(double(epoch + 1));
      state["trainer/best_val"] = scalar(best_val);
      state["trainer/best_epoch"] = scalar(double(best_epoch));
      state["trainer/window"] = scalar(double(N));
      state["trainer/many_to_many"] = scalar(seq_targets ? 1 : 0);
      for (std::size_t k = 0; k < params.size(); ++k) state["best/" + params[k]->name] = best[k];
      save_checkpoint(checkpoint, params, state);
    }
  }

  // ---- test with the best-on-validation parameters ----
  if (best_epoch > 0)
    for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = best[k];
  const double test_mse = evaluate(test), ratio = test_mse / test_baseline;
  std::cout << "best epoch " << best_epoch << " (val mse " << best_val << ", baseline " << val_baseline << ")\n"
            << "test mse " << test_mse << "  last-value baseline " << test_baseline << "  ratio " << ratio << std::endl;

  examples::Metrics metrics;
  metrics.set("test_mse", test_mse);
  metrics.set("baseline_mse", test_baseline);
  metrics.set("mse_ratio", ratio);
  metrics.set("val_mse", best_val);
  metrics.set("val_baseline_mse", val_baseline);
  metrics.set("best_epoch", double(best_epoch));
  metrics.set("epochs", double(epochs));
  metrics.set("wall_s", progress.seconds_since_start());
  metrics.set("parameters", double(model.parameter_count()));
  metrics.set("mode", mode);
  metrics.set("cell", cell_kind);
  metrics.set("hidden", double(hidden));
  metrics.set("window", double(N));
  metrics.write(args.str("metrics-out"));
  return 0;
} catch (const std::exception& e) {
  std::cerr << "forecast: " << e.what() << "\n";
  return 1;
}
