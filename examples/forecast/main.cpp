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
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/replicas.hpp"
#include "../common/plot.hpp"
#include "../common/progress.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/run_config.hpp"
#include "../common/train_loop.hpp"
#include <tapenet/layers/basic.hpp>
#include <tapenet/layers/cell_factory.hpp>
#include <tapenet/layers/sequence.hpp>
#include <tapenet/optim/checkpoint.hpp>
#include <tapenet/optim/clip.hpp>
#include <tapenet/optim/early_stopping.hpp>
#include <tapenet/optim/optimizer.hpp>

using namespace tapenet;

namespace {

const char* kUsage =
    "usage: forecast [--mode many-to-one|many-to-many] [--cell gru|lstm|elman] [--window N] [--hidden H]\n"
    "                [--epochs E] [--batch B] [--lr LR] [--clip C] [--seed S] [--data FILE | --points N]\n"
    "                [--metrics-out FILE] [--checkpoint FILE [--resume]] [--plot FILE.svg]";

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

// The options; a checkpoint remembers them (fixed: the model, the data and the window; the
// schedule may change on --resume).
struct Options {
  std::string mode, cell, data, checkpoint, plot;
  std::size_t window = 0, hidden = 0, epochs = 0, batch = 0, points = 0;
  double lr = 0, clip = 0;
  std::uint64_t seed = 1;
  bool many_to_many() const { return mode == "many-to-many"; }
};

Options read_options(const examples::Args& args, examples::RunConfig& c) {
  Options o;
  o.mode = c.choice("mode", "many-to-one", {"many-to-one", "many-to-many"});
  o.cell = c.choice("cell", "gru", {"gru", "lstm", "elman", "rnn"});
  o.window = c.count("window", 24);
  o.hidden = c.count("hidden", 32);
  o.epochs = c.count("epochs", 20, examples::Policy::Tunable);
  o.batch = c.count("batch", 32, examples::Policy::Tunable);
  o.points = c.count("points", 3000);
  o.data = c.text("data", "");
  o.lr = c.number("lr", 3e-3);
  o.clip = c.number("clip", 1.0);
  o.seed = static_cast<std::uint64_t>(c.integer("seed", 1, examples::Policy::Fixed));
  o.checkpoint = args.str("checkpoint");
  o.plot = args.str("plot");
  if (args.has("resume") && o.checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");
  return o;
}

// The series, split chronologically 70/15/15 and normalised with the training statistics.
// A sample is the index i of its target: inputs z[i-N .. i-1].
struct Series {
  std::vector<double> y;
  std::vector<float> z;
  double mean = 0, stdev = 1;
  std::vector<std::size_t> train, valid, test;

  // ŷ_i = y_{i-1}, in original units.
  double baseline_mse(const std::vector<std::size_t>& idx) const {
    double s = 0;
    for (std::size_t i : idx) s += (y[i] - y[i - 1]) * (y[i] - y[i - 1]);
    return s / idx.size();
  }
};

Series load_series(const Options& o) {
  Series s;
  s.y = o.data.empty() ? synthetic(o.points, o.seed) : read_csv(o.data);
  const std::size_t n = s.y.size(), n_train = n * 70 / 100, n_valid = n * 15 / 100, N = o.window;
  if (n_train <= N || n_valid == 0 || n - n_train - n_valid == 0)
    throw std::invalid_argument("the series has " + std::to_string(n) + " points: too short for --window " +
                                std::to_string(N) + " and a 70/15/15 split");
  s.mean = std::accumulate(s.y.begin(), s.y.begin() + n_train, 0.0) / n_train;
  double var = 0;
  for (std::size_t i = 0; i < n_train; ++i) var += (s.y[i] - s.mean) * (s.y[i] - s.mean);
  s.stdev = std::max(std::sqrt(var / n_train), 1e-8);
  s.z.resize(n);
  for (std::size_t i = 0; i < n; ++i) s.z[i] = float((s.y[i] - s.mean) / s.stdev);
  auto targets_in = [&](std::size_t begin, std::size_t end) {
    std::vector<std::size_t> v;
    for (std::size_t i = std::max(begin, N); i < end; ++i) v.push_back(i);
    return v;
  };
  s.train = targets_in(0, n_train);
  s.valid = targets_in(n_train, n_train + n_valid);
  s.test = targets_in(n_train + n_valid, n);
  return s;
}

// One run: the model, its optimizer, the best-on-valid parameters and the loop's hooks.
class Run {
 public:
  Run(const Options& o, const Series& s, examples::ConfigValues config)
      : o_(o), s_(s), config_(std::move(config)), init_rng_(o.seed), model_(o.cell, o.hidden, init_rng_),
        params_(model_.parameters()), optimizer_(params_, AdamOptions().with_lr(o.lr)), best_(params_, 0),
        plot_(o.plot, {"epoch", "mse (original units)", "forecast: " + o.mode + " " + o.cell, ""}) {}

  std::size_t parameter_count() { return model_.parameter_count(); }

  void resume(const examples::LoopState& loop, const std::string& curves) {
    state_ = loop;
    plot_.restore(curves, double(loop.epoch));
    auto state = load_checkpoint(o_.checkpoint, params_);
    best_.load(state, o_.checkpoint);
    Optimizer<float>::StateDict opt_state;
    for (auto& [key, value] : state)
      if (!best_.owns(key)) opt_state[key] = value;
    optimizer_.load_state_dict(opt_state);
    std::cout << "resumed from " << o_.checkpoint << " after epoch " << loop.epoch << " (best val mse "
              << -best_.best().score() << ")\n";
  }

  void train() {
    const std::size_t per_epoch = (s_.train.size() + o_.batch - 1) / o_.batch;
    examples::LoopOptions lo;
    lo.epochs = o_.epochs;
    lo.selection = &best_;
    lo.higher_is_better = false;
    lo.unit = "batches";
    lo.total_items = double(o_.epochs > state_.epoch ? (o_.epochs - state_.epoch) * per_epoch : 0);
    examples::LoopHooks hooks;
    hooks.start_epoch = [this, per_epoch](std::size_t epoch) {
      order_ = s_.train;
      std::mt19937_64 shuffle_rng(o_.seed * 1000003 + epoch);  // a pure function of the epoch: resumable
      std::shuffle(order_.begin(), order_.end(), shuffle_rng);
      train_loss_ = 0;
      return per_epoch;
    };
    hooks.train_batch = [this](const examples::LoopState& st) { return train_batch(st); };
    hooks.status = [this](const examples::LoopState& st) {
      std::ostringstream status;
      status << "epoch " << st.epoch + (st.batch ? 1 : 0) << " train mse "
             << train_loss_ / double(st.batch ? st.batch : 1) * s_.stdev * s_.stdev;
      return status.str();
    };
    hooks.evaluate = [this](const examples::LoopState&) { return examples::Evaluation{evaluate(s_.valid)}; };
    hooks.after_step = [this, per_epoch](const examples::LoopState& st, const examples::StepResult&,
                                         const examples::Evaluation* e) {
      if (!e) return;
      std::cout << "epoch " << st.epoch << ": train mse " << train_loss_ / per_epoch * s_.stdev * s_.stdev
                << "  val mse " << e->score << (e->improved ? "  (best)" : "") << std::endl;
      plot_.add("train mse", double(st.epoch), train_loss_ / per_epoch * s_.stdev * s_.stdev);
      plot_.add("val mse", double(st.epoch), e->score);
      plot_.draw();
    };
    if (!o_.checkpoint.empty())
      hooks.save = [this](const examples::LoopState& st) {
        auto state = optimizer_.state_dict();
        best_.save(state);
        examples::save_run(o_.checkpoint, params_, state, examples::RunRecord{config_, st, {{"curves", plot_.record()}}});
      };
    examples::run_training_loop(lo, hooks, state_);
  }

  // Test with the best-on-validation parameters, once.
  void report(examples::Metrics& metrics, double wall_seconds) {
    const double val_baseline = s_.baseline_mse(s_.valid), test_baseline = s_.baseline_mse(s_.test);
    if (best_.best().has_score()) best_.best().restore();
    const double best_val = best_.best().has_score() ? -best_.best().score() : INFINITY;
    const double test_mse = evaluate(s_.test), ratio = test_mse / test_baseline;
    std::cout << "best epoch " << best_.best().epoch() << " (val mse " << best_val << ", baseline " << val_baseline
              << ")\n"
              << "test mse " << test_mse << "  last-value baseline " << test_baseline << "  ratio " << ratio
              << std::endl;
    metrics.set("test_mse", test_mse);
    metrics.set("baseline_mse", test_baseline);
    metrics.set("mse_ratio", ratio);
    metrics.set("val_mse", best_val);
    metrics.set("val_baseline_mse", val_baseline);
    metrics.set("best_epoch", double(best_.best().epoch()));
    metrics.set("epochs", double(o_.epochs));
    metrics.set("wall_s", wall_seconds);
    metrics.set("parameters", double(model_.parameter_count()));
    metrics.set("mode", o_.mode);
    metrics.set("cell", o_.cell);
    metrics.set("hidden", double(o_.hidden));
    metrics.set("window", double(o_.window));
  }

 private:
  // Predictions (and, for training, the loss) of one batch of samples. `last` is [B, 1]:
  // the prediction of z[i] for each sample i.
  struct Batch {
    Var<float> loss, last;
  };
  Batch forward(Tape<float>& tape, const std::size_t* idx, std::size_t B) const {
    const std::size_t N = o_.window;
    Tensor<float> x = Tensor<float>::from_shape({N * B, 1}), target = Tensor<float>::from_shape({N * B, 1});
    for (std::size_t t = 0; t < N; ++t)
      for (std::size_t b = 0; b < B; ++b) {
        x(t * B + b, 0) = s_.z[idx[b] - N + t];
        target(t * B + b, 0) = s_.z[idx[b] - N + t + 1];  // row (N-1)·B + b is z[i]
      }
    SequenceOutput<float> run = run_sequence(tape, *model_.cell, tape.constant(x), B);
    if (o_.many_to_many()) {
      Var<float> pred = model_.readout.forward(tape, concat_outputs(run.outputs));  // [N·B, 1]
      return Batch{mse(pred, tape.constant(target)), slice(pred, 0, (N - 1) * B, N * B)};
    }
    Var<float> pred = model_.readout.forward(tape, run.final.h);  // [B, 1]
    Tensor<float> last = Tensor<float>::from_shape({B, 1});
    for (std::size_t b = 0; b < B; ++b) last(b, 0) = target((N - 1) * B + b, 0);
    return Batch{mse(pred, tape.constant(last)), pred};
  }

  examples::StepResult train_batch(const examples::LoopState& st) {
    const std::size_t k = st.batch, B = std::min(o_.batch, order_.size() - k * o_.batch);
    tape_.clear();
    Var<float> loss = forward(tape_, order_.data() + k * o_.batch, B).loss;
    optimizer_.zero_grad();
    tape_.backward(loss);
    clip_grad_norm(params_, o_.clip);
    optimizer_.step();
    train_loss_ += loss.item();
    return {loss.item(), 1.0};
  }

  // MSE of the next-value prediction, in original units.
  double evaluate(const std::vector<std::size_t>& idx) const {
    NoGradGuard no_grad;
    double sum = 0;
    for (std::size_t k = 0; k < idx.size(); k += 256) {
      const std::size_t B = std::min<std::size_t>(256, idx.size() - k);
      Tape<float> tape;
      Var<float> last = forward(tape, idx.data() + k, B).last;
      for (std::size_t b = 0; b < B; ++b) {
        const double e = double(last.value()(b, 0)) * s_.stdev + s_.mean - s_.y[idx[k + b]];
        sum += e * e;
      }
    }
    return sum / idx.size();
  }

  const Options& o_;
  const Series& s_;
  examples::ConfigValues config_;
  std::mt19937_64 init_rng_;
  Forecaster model_;
  ParameterList<float> params_;
  Adam<float> optimizer_;
  EarlyStopping<float> best_;  // patience 0: keeps the best-on-valid parameters
  examples::RunPlot plot_;      // --plot: train and validation MSE by epoch
  Tape<float> tape_;
  std::vector<std::size_t> order_;
  examples::LoopState state_;
  double train_loss_ = 0;
};

}  // namespace

int run(int argc, char** argv) {
  const auto clock_start = std::chrono::steady_clock::now();
  examples::Args args(argc, argv,
                      {"mode", "cell", "window", "hidden", "epochs", "batch", "lr", "clip", "seed", "data", "points",
                       "metrics-out", "checkpoint", "resume", "plot"},
                      {"resume"}, kUsage);
  examples::RunRecord saved;
  if (args.has("resume")) saved = examples::read_run_record(args.str("checkpoint"), {"curves"});
  examples::RunConfig config(args, args.has("resume") ? &saved.config : nullptr);
  const Options o = read_options(args, config);
  const Series series = load_series(o);
  Run run(o, series, config.values());
  if (args.has("resume")) run.resume(saved.loop, saved.texts.at("curves"));
  std::cout << "forecast: " << o.cell << " (hidden " << o.hidden << ", " << run.parameter_count() << " parameters), "
            << o.mode << ", window " << o.window << "; " << series.y.size() << " points -> " << series.train.size()
            << "/" << series.valid.size() << "/" << series.test.size() << " train/valid/test windows; val baseline mse "
            << series.baseline_mse(series.valid) << std::endl;
  run.train();
  examples::Metrics metrics;
  run.report(metrics, std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count());
  metrics.write(args.str("metrics-out"));
  return 0;
}

int main(int argc, char** argv) {
  return tapenet::examples::run_example("forecast", argc, argv, run, tapenet::examples::Processes::One);
}
