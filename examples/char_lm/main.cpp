// A character-level language model (Karpathy's char-rnn, nanoGPT's shakespeare_char
// split): a 2-layer LSTM or GRU reads a text one character at a time and learns
// p(c_{t+1} | c_1 .. c_t). See examples/char_lm/README.md for commands and results.
//
// Truncated BPTT: the training text is cut into --batch lanes read in parallel, chunk by
// chunk of --seq characters. Each chunk is recorded on a fresh tape that starts from the
// state the previous chunk ended in, carried over as constants: backward() stops at the
// chunk boundary while the forward state flows through the whole lane.
//
//   loss = mean over the chunk of -log p(c_{t+1} | c_≤t)         (nats/char)
//   bits/char = nats/char / ln 2
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <unistd.h>

#include "../common/cli.hpp"
#include "../common/lane_groups.hpp"
#include "../common/metrics.hpp"
#include "../common/plot.hpp"
#include "../common/run_config.hpp"
#include "../common/train_loop.hpp"
#include "corpus.hpp"
#include <tapenet/data/text.hpp>
#include "model.hpp"
#include <tapenet/optim/checkpoint.hpp>
#include <tapenet/optim/clip.hpp>
#include <tapenet/optim/optimizer.hpp>
#include "training_state.hpp"

using namespace tapenet;
using namespace char_lm;
using examples::Policy;

namespace {

const char* const kUsage = R"(usage: char_lm [options]
Trains a character-level LSTM/GRU language model with truncated BPTT.

data
  --data PATH           UTF-8 text: first 90% trains, last 10% validates
                        (default: a built-in synthetic text)
  --train F --valid F [--test F]   fixed splits instead: the vocabulary from the
                        training file; --test is scored once at the end with the
                        parameters of the best validation
  --synthetic-chars N   length of the synthetic text (200000)
model and training: on --resume, options marked * default to the checkpoint's; given
again, those marked *= must equal it, the other * ones override it
model
  --cell lstm|gru    *= recurrent cell (lstm)
  --layers N         *= stacked layers (2)
  --hidden N         *= hidden units per layer (256)
  --embed N          *= character embedding size (64)
  --dropout P        *  between layers and before the readout (0)
training
  --seq N            *= BPTT length in characters (64)
  --batch N          *= parallel lanes (32)
  --lane-groups G    *= the lanes cut into G groups, each on its own tape: the unit of
                        parallel work for --threads and for ranks under mpirun (1: one tape
                        for the batch). A given G gives the same figures on any number of
                        threads or ranks; mpirun -np N needs G >= N
  --threads N           threads for the lane groups (default: every core)
  --optimizer adam|rmsprop (adam) *=
  --lr X             *  peak learning rate (0.002)
  --lr-schedule constant|cosine  * cosine decays to --min-lr at the last step (cosine)
  --min-lr X         *  (lr / 10)
  --clip X           *  global gradient-norm clip, 0 = off (5)
  --steps N | --epochs X   * length of training (default: 1 epoch)
  --time-limit S        stop early after S seconds of wall time (then validate and
                        checkpoint as at the last step; the schedule is not shortened)
  --seed N           *  initialisation, dropout and sampling seed (1)
evaluation and sampling
  --eval-every N        validate, checkpoint and sample every N steps (200)
  --eval-tokens N       characters of the validation split to score, 0 = all (0)
  --eval-batch N        lanes for validation (32)
  --sample N            characters to sample at each evaluation and at the end (200)
  --temperature X       sampling temperature, 0 = greedy (0.8)
  --prime STRING        text the samples start from (default: a newline)
outputs
  --checkpoint FILE     atomic .npz checkpoint (char_lm_checkpoint.npz)
  --resume              continue from --checkpoint
  --metrics-out FILE    final figures as JSON
  --curve-out FILE      loss curve CSV: step,train_loss,val_loss
  --plot FILE.svg       train and validation loss against steps, redrawn at every evaluation
  --log-every N         progress / curve row every N steps (50))";

constexpr double kLn2 = 0.69314718055994530942;

std::string read_file(const std::string& path, const std::string& option = "data") {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open --" + option + " '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fixed(double v, int digits = 4) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// Loss-curve CSV. A fresh run truncates the file; a resumed one keeps the rows up to the
// checkpoint's step (a run that went past its last checkpoint would otherwise repeat them).
class Curve {
 public:
  Curve(std::string path, bool resume, std::size_t start) : path_(examples::on_root() ? std::move(path) : "") {
    if (path_.empty()) return;
    std::vector<std::string> kept;
    if (resume) {
      std::ifstream in(path_);
      std::string line;
      while (std::getline(in, line))
        if (!line.empty() && line.rfind("step", 0) != 0 && std::stoul(line) <= start) kept.push_back(line);
    }
    std::ofstream out(path_, std::ios::trunc);
    out << "step,train_loss,val_loss\n";
    for (const auto& l : kept) out << l << "\n";
    if (!out) throw std::runtime_error("cannot write --curve-out '" + path_ + "'");
  }
  void row(std::size_t step, double train, double val) const {
    if (path_.empty()) return;
    std::ofstream out(path_, std::ios::app);
    out << step << "," << fixed(train, 6) << ",";
    if (!std::isnan(val)) out << fixed(val, 6);
    out << "\n";
  }

 private:
  std::string path_;
};

struct Stopwatch {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
};

double non_negative(const examples::Args& args, const std::string& key, double fallback) {
  const double v = args.num(key, fallback);
  if (!(v >= 0)) throw std::invalid_argument("--" + key + " must not be negative");
  return v;
}

std::string data_source(const examples::Args& args) {
  return args.has("train") ? args.str("train") : args.has("data") ? args.str("data") : "synthetic text";
}

Corpus read_corpus(const examples::Args& args) {
  if (args.has("train") || args.has("valid") || args.has("test")) {
    if (args.has("data")) throw std::invalid_argument("give either --data or --train/--valid/--test");
    if (!args.has("train") || !args.has("valid")) throw std::invalid_argument("--train needs --valid (and --valid --train)");
    SplitTexts t;
    t.train_name = args.str("train");
    t.valid_name = args.str("valid");
    t.test_name = args.str("test");
    t.train = read_file(t.train_name, "train");
    t.valid = read_file(t.valid_name, "valid");
    if (!t.test_name.empty()) t.test = read_file(t.test_name, "test");
    return make_split_corpus(t);
  }
  return make_corpus(args.has("data") ? read_file(args.str("data"))
                                      : synthetic_text(static_cast<std::size_t>(non_negative(args, "synthetic-chars", 200000))),
                     data_source(args));
}

Corpus load_corpus(const examples::Args& args) {
  const std::string source = data_source(args);
  Corpus corpus = read_corpus(args);
  std::cout << "data: " << source << ": " << corpus.train.size() << " training and " << corpus.valid.size()
            << " validation characters, vocabulary " << corpus.vocab.size()
            << (corpus.vocab.has_unk() ? " (with <unk>)" : "") << "\n";
  if (corpus.valid_unknown) {
    std::string examples;
    for (char32_t c : corpus.unknown_examples) examples += (examples.empty() ? "" : ", ") + describe_char(c);
    std::cout << "note: " << corpus.valid_unknown
              << " validation characters never occur in the training text and are scored as <unk>: " << examples
              << "\n";
  }
  return corpus;
}

// Every option; the ones a checkpoint remembers come through `config` (a resumed run takes
// the checkpoint's values, examples/common/run_config.hpp).
struct Options {
  std::string source;
  ModelConfig model;
  std::size_t seq = 0, batch = 0, lane_groups = 1, per_epoch = 0, total_steps = 0;
  int threads = 0;
  std::string optimizer, schedule;
  double lr = 0, min_lr = 0, clip = 0, time_limit = 0, temperature = 0;
  std::uint64_t seed = 0;
  std::size_t eval_every = 0, log_every = 0, eval_tokens = 0, eval_batch = 0, sample_chars = 0;
  std::vector<std::int64_t> prime;

  std::size_t tokens_per_step() const { return batch * seq; }
  // lr_t = min + (peak - min)·(1 + cos(π t / (T-1))) / 2 for the cosine schedule.
  double lr_at(std::size_t step) const {
    if (schedule == "constant" || total_steps <= 1) return lr;
    const double progress = double(std::min(step, total_steps - 1)) / double(total_steps - 1);
    return min_lr + (lr - min_lr) * 0.5 * (1 + std::cos(M_PI * progress));
  }
};

Options read_options(const examples::Args& args, examples::RunConfig& config, const Corpus& corpus) {
  Options o;
  o.source = data_source(args);
  o.model.cell = config.choice("cell", "lstm", {"lstm", "gru"});
  o.model.layers = config.count("layers", 2);
  o.model.hidden = config.count("hidden", 256);
  o.model.embed = config.count("embed", 64);
  o.model.dropout = static_cast<float>(config.number("dropout", 0.0));
  o.model.vocab = corpus.vocab.size();
  o.seq = config.count("seq", 64);
  o.batch = config.count("batch", 32);
  o.lane_groups = config.count("lane-groups", 1);
  examples::check_lane_groups(o.batch, o.lane_groups, examples::world().size());
  o.threads = static_cast<int>(non_negative(args, "threads", 0));
  o.optimizer = config.choice("optimizer", "adam", {"adam", "rmsprop"});
  o.per_epoch = Lanes(corpus.train, o.batch, o.seq).full_chunks();
  if (o.per_epoch == 0)
    throw std::invalid_argument("the training text (" + std::to_string(corpus.train.size()) +
                                " characters) is too short for --batch " + std::to_string(o.batch) + " x --seq " +
                                std::to_string(o.seq));
  // --steps, else --epochs, else (resuming) the checkpoint's plan, else one epoch.
  const auto saved_steps = config.saved("steps");
  o.total_steps = args.has("steps")                     ? static_cast<std::size_t>(non_negative(args, "steps", 0))
                  : !args.has("epochs") && saved_steps ? static_cast<std::size_t>(saved_steps->as_integer())
                  : static_cast<std::size_t>(std::llround(non_negative(args, "epochs", 1.0) * double(o.per_epoch)));
  config.set("steps", examples::ConfigValue::integer(long(o.total_steps)));
  config.set("unk", examples::ConfigValue::flag(corpus.vocab.has_unk()));
  o.lr = config.number("lr", 2e-3);
  o.min_lr = config.number("min-lr", o.lr / 10);
  o.clip = config.number("clip", 5.0);
  o.schedule = config.choice("lr-schedule", "cosine", {"constant", "cosine"}, Policy::Tunable);
  o.seed = static_cast<std::uint64_t>(config.integer("seed", 1));
  o.eval_every = static_cast<std::size_t>(std::max(1L, args.integer("eval-every", 200)));
  o.log_every = static_cast<std::size_t>(std::max(1L, args.integer("log-every", 50)));
  o.eval_tokens = static_cast<std::size_t>(non_negative(args, "eval-tokens", 0));
  o.eval_batch = static_cast<std::size_t>(std::max(1L, args.integer("eval-batch", 32)));
  o.sample_chars = static_cast<std::size_t>(non_negative(args, "sample", 200));
  o.temperature = args.num("temperature", 0.8);
  o.time_limit = args.num("time-limit", 0);
  o.prime = args.has("prime") ? corpus.vocab.encode_strict(data::decode_utf8(args.str("prime")), "--prime")
                              : std::vector<std::int64_t>{corpus.vocab.contains(U'\n') ? corpus.vocab.id(U'\n', "")
                                                                                       : corpus.train.front()};
  if (o.prime.empty()) throw std::invalid_argument("--prime must not be empty");
  return o;
}

std::unique_ptr<Optimizer<float>> make_optimizer(const Options& o, const ParameterList<float>& params) {
  if (o.optimizer == "adam") return std::make_unique<Adam<float>>(params, AdamOptions().with_lr(o.lr));
  return std::make_unique<RMSProp<float>>(params, RMSPropOptions().with_lr(o.lr));
}

// stdout, without tearing the progress bar.
void say(const std::string& text) {
  if (::isatty(2)) std::fputs("\r\033[K", stderr);
  std::cout << text << std::flush;
}

// One run: the model, its optimizer and the figures of the loop's hooks.
class Run {
 public:
  Run(const Options& o, const Corpus& corpus, const std::string& checkpoint, examples::RunConfig& config,
      const std::string& plot_path)
      : plot_(plot_path, {"step", "loss (nats/char)", "char_lm: " + o.source, ""}), o_(o), corpus_(corpus), checkpoint_(checkpoint), config_(config), init_rng_(o.seed), model_(o.model, init_rng_),
        params_(model_.parameters()), optimizer_(make_optimizer(o, params_)), best_(params_, 0),
        lanes_(corpus.train, o.batch, o.seq) {}

  void resume(const std::string& path, const examples::LoopState& loop, const std::string& curves) {
    state_ = loop;
    saved_curves_ = curves;
    carry_ = restore(path, params_, *optimizer_, best_);
    start_step_ = loop.step;
    resumed_train_seconds_ = loop.train_seconds;
    std::cout << "resumed from " << checkpoint_ << " at step " << loop.step << "\n";
  }
  // Under mpirun: the same options, model and training text on every rank.
  void start_replicas(const Corpus& corpus) const {
    const std::uint64_t h = distributed::fingerprint(corpus.train.data(), corpus.train.size() * sizeof(std::int64_t));
    examples::start_replicas(config_, params_, std::to_string(corpus.train.size()) + " training characters, " +
                                                   std::to_string(corpus.vocab.size()) + " symbols, fingerprint " +
                                                   distributed::hex(h));
  }
  void describe() {
    std::cout << "model: " << o_.model.layers << "-layer " << o_.model.cell << ", hidden " << o_.model.hidden
              << ", embed " << o_.model.embed << ", " << model_.parameter_count() << " parameters; " << o_.optimizer
              << " lr " << o_.lr << " (" << o_.schedule << "), clip " << o_.clip << ", seq " << o_.seq << ", batch "
              << o_.batch << "\n"
              << "training: " << o_.total_steps << " steps (" << o_.per_epoch << " per epoch, "
              << fixed(double(o_.total_steps) / double(o_.per_epoch), 2) << " epochs); a uniform guess costs "
              << fixed(std::log(double(corpus_.vocab.size()))) << " nats/char" << std::endl;
  }

  examples::LoopOutcome train(const std::string& curve_path, std::chrono::steady_clock::time_point clock_start) {
    clock_start_ = clock_start;
    Curve curve(curve_path, config_.resuming(), start_step_);
    if (saved_curves_) plot_.restore(*saved_curves_, double(start_step_));
    examples::LoopOptions lo;
    lo.epochs = o_.total_steps / o_.per_epoch + 1;
    lo.max_steps = o_.total_steps;
    lo.evaluate_every = o_.eval_every;
    lo.evaluate_at_stop = true;
    lo.max_seconds = o_.time_limit;
    lo.clock_start = clock_start;
    lo.higher_is_better = false;
    lo.selection = &best_;
    lo.unit = "tok";
    lo.total_items = double(o_.total_steps > start_step_ ? (o_.total_steps - start_step_) * o_.tokens_per_step() : 0);
    examples::LoopHooks hooks;
    hooks.start_epoch = [&](std::size_t) { return o_.per_epoch; };
    hooks.train_batch = [&](const examples::LoopState& s) { return train_chunk(s); };
    hooks.status = [&](const examples::LoopState& s) { return status(s); };
    hooks.evaluate = [&](const examples::LoopState& s) { return examples::Evaluation{evaluate(s.step)}; };
    hooks.after_step = [&](const examples::LoopState& s, const examples::StepResult&, const examples::Evaluation* e) {
      if (s.step % o_.log_every != 0 && !e) return;
      curve.row(s.step, window_.mean(last_loss_), e ? val_ : NAN);
      plot_.add("train loss", double(s.step), window_.mean(last_loss_));
      if (e) {
        plot_.add("validation loss", double(s.step), val_);
        plot_.draw();
      }
      window_ = {};
    };
    hooks.save = [&](const examples::LoopState& s) { save(checkpoint_, params_, *optimizer_, best_, carry_, record(s)); };
    examples::LoopOutcome outcome = examples::run_training_loop(lo, hooks, state_);
    if (outcome.out_of_time)
      say("stopping at step " + std::to_string(state_.step) + ": --time-limit " + fixed(o_.time_limit, 0) +
          " s reached\n");
    if (start_step_ >= o_.total_steps) {  // nothing to train (e.g. --resume at the end): evaluate, sample
      examples::Evaluation e{evaluate(state_.step)};
      examples::record_evaluation(e, lo, state_.epoch);
    }
    outcome_ = outcome;
    return outcome;
  }

  void report(examples::Metrics& metrics, double wall_seconds);

 private:
  struct Window {  // mean training loss over the steps since the last reset
    double sum = 0;
    std::size_t steps = 0;
    double mean(double fallback) const { return steps ? sum / double(steps) : fallback; }
    void add(double loss) { sum += loss, ++steps; }
  };

  examples::StepResult train_chunk(const examples::LoopState& s) {
    if (s.batch == 0) carry_.clear();  // a new pass over the lanes starts from zero states
    lanes_.chunk(s.batch, inputs_, targets_);
    optimizer_->set_lr(static_cast<float>(o_.lr_at(s.step)));
    examples::LaneGroupOptions groups;
    groups.groups = o_.lane_groups;
    groups.dropout_seed = o_.seed * 1000003 + s.step;  // a pure function of the step: resumable
    groups.threads = o_.threads;
    optimizer_->zero_grad();
    // carry_ becomes the state after this chunk, detached: the next chunk's start.
    last_loss_ = examples::train_lane_groups(model_, inputs_, targets_, o_.batch, carry_, params_, groups);
    const float norm = o_.clip > 0 ? clip_grad_norm(params_, o_.clip) : grad_norm(params_);
    examples::StepResult r{last_loss_, double(o_.tokens_per_step())};
    if (!std::isfinite(last_loss_) || !std::isfinite(norm)) {
      ++skipped_;  // keep the weights; the next chunk starts from zero states
      r.skipped = true;
      carry_.clear();
      say("warning: step " + std::to_string(s.step + 1) + ": loss " + std::to_string(last_loss_) +
          ", gradient norm " + std::to_string(norm) + "; update skipped\n");
    } else {
      optimizer_->step();
      window_.add(last_loss_);
      eval_window_.add(last_loss_);
    }
    return r;
  }

  std::string status(const examples::LoopState& s) const {
    std::ostringstream text;
    const double seconds = s.train_seconds - resumed_train_seconds_;
    text << "step " << s.step << "/" << o_.total_steps << " loss " << fixed(window_.mean(last_loss_), 3) << " ("
         << fixed(seconds > 0 ? double((s.step - start_step_) * o_.tokens_per_step()) / seconds : 0, 0)
         << " train tok/s)";
    return text.str();
  }

  // Validation loss (nats/char) at `step`; prints it with a sample.
  double evaluate(std::size_t step) {
    const Stopwatch timer;
    train_loss_ = eval_window_.mean(last_loss_);
    eval_window_ = {};
    const EvalResult r = char_lm::evaluate(model_, corpus_.valid, o_.eval_batch, o_.seq, o_.eval_tokens);
    val_ = r.nats;
    std::ostringstream line;
    line << "step " << step << "/" << std::max(step, o_.total_steps);
    if (!std::isnan(train_loss_))
      line << " | train " << fixed(train_loss_) << " nats/char (" << fixed(train_loss_ / kLn2) << " bits)";
    line << " | val " << fixed(val_) << " nats/char (" << fixed(val_ / kLn2) << " bits/char, " << r.tokens
         << " chars) | lr " << std::setprecision(3) << o_.lr_at(step ? step - 1 : 0) << " | "
         << fixed(std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start_).count(), 0) << " s\n";
    if (o_.sample_chars) {
      last_sample_ = sample_text(step);
      line << "---- sample (temperature " << o_.temperature << ") ----\n" << last_sample_ << "\n----\n";
    }
    say(line.str());
    eval_seconds_ += timer.seconds();
    return val_;
  }

  std::string sample_text(std::size_t step) {
    std::mt19937_64 rng(o_.seed * 7919 + step);  // a pure function of the step
    return corpus_.vocab.decode(o_.prime) +
           corpus_.vocab.decode(model_.sample(o_.prime, o_.sample_chars, o_.temperature, rng));
  }

  double best_val() const { return best_.best().has_score() ? -best_.best().score() : NAN; }

  RunRecord record(const examples::LoopState& s) const {
    return RunRecord{config_.values(), s, {{"vocab", vocabulary_record(corpus_.vocab)}, {"curves", plot_.record()}}};
  }

  examples::RunPlot plot_;
  const Options& o_;
  const Corpus& corpus_;
  std::string checkpoint_;
  examples::RunConfig& config_;
  std::mt19937_64 init_rng_;
  CharLM model_;
  ParameterList<float> params_;
  std::unique_ptr<Optimizer<float>> optimizer_;
  EarlyStopping<float> best_;  // patience 0: the best validation loss and its parameters, never stops
  Lanes lanes_;
  std::vector<std::int64_t> inputs_, targets_;
  std::vector<char_lm::StateValues> carry_;
  examples::LoopState state_;
  examples::LoopOutcome outcome_;
  std::size_t start_step_ = 0, skipped_ = 0;
  Window window_, eval_window_;
  double last_loss_ = NAN, train_loss_ = NAN, val_ = NAN, eval_seconds_ = 0, resumed_train_seconds_ = 0;
  std::chrono::steady_clock::time_point clock_start_;
  std::string last_sample_;
  std::optional<std::string> saved_curves_;
};

void Run::report(examples::Metrics& metrics, double wall_seconds) {
  const double train_seconds = outcome_.session_train_seconds;
  const std::size_t tokens = o_.tokens_per_step();
  const double tokens_per_s = train_seconds > 0 ? double((state_.step - start_step_) * tokens) / train_seconds : 0;
  std::cout << "done: step " << state_.step << ", validation " << fixed(val_) << " nats/char = "
            << fixed(val_ / kLn2) << " bits/char (best " << fixed(best_val()) << "), " << fixed(tokens_per_s, 0)
            << " train tokens/s, wall " << fixed(wall_seconds, 1) << " s"
            << (skipped_ ? ", " + std::to_string(skipped_) + " steps skipped (non-finite)" : "") << "\n";
  metrics.set("train_loss_nats", train_loss_);
  metrics.set("val_loss_nats", val_);
  metrics.set("train_bits_per_char", train_loss_ / kLn2);
  metrics.set("val_bits_per_char", val_ / kLn2);
  metrics.set("best_val_loss_nats", best_val());
  metrics.set("last_step_loss", last_loss_);
  metrics.set("tokens_per_s", tokens_per_s);
  metrics.set("wall_s", wall_seconds);
  metrics.set("train_s", train_seconds);
  metrics.set("eval_s", eval_seconds_);
  metrics.set("parameters", double(model_.parameter_count()));
  metrics.set("steps", double(state_.step));
  metrics.set("start_step", double(start_step_));
  metrics.set("epochs", double(state_.step) / double(o_.per_epoch));
  metrics.set("tokens_trained", double(state_.step * tokens));
  metrics.set("skipped_steps", double(skipped_));
  metrics.set("vocab_size", double(corpus_.vocab.size()));
  metrics.set("valid_unknown_chars", double(corpus_.valid_unknown));
  if (!corpus_.test.empty()) {  // once, with the parameters of the best validation
    if (best_.best().has_score()) best_.best().restore();
    const EvalResult t = char_lm::evaluate(model_, corpus_.test, o_.eval_batch, o_.seq, 0);
    std::cout << "test: " << fixed(t.nats) << " nats/char = " << fixed(t.nats / kLn2) << " bits/char (" << t.tokens
              << " chars, the best validation's parameters)\n";
    metrics.set("test_loss_nats", t.nats);
    metrics.set("test_bits_per_char", t.nats / kLn2);
    metrics.set("test_unknown_chars", double(corpus_.test_unknown));
  }
  metrics.set("data", o_.source);
  metrics.set("cell", o_.model.cell);
  metrics.set("layers", double(o_.model.layers));
  metrics.set("hidden", double(o_.model.hidden));
  metrics.set("embed", double(o_.model.embed));
  metrics.set("dropout", o_.model.dropout);
  metrics.set("seq", double(o_.seq));
  metrics.set("batch", double(o_.batch));
  metrics.set("optimizer", o_.optimizer);
  metrics.set("lr", o_.lr);
  metrics.set("sample", last_sample_);
}

int run(int argc, char** argv) {
  examples::Args args(argc, argv,
                      {"data", "train", "valid", "test", "synthetic-chars", "cell", "layers", "hidden", "embed", "dropout", "seq", "batch",
                       "optimizer", "lr", "lr-schedule", "min-lr", "clip", "steps", "epochs", "seed", "eval-every",
                       "eval-tokens", "eval-batch", "sample", "temperature", "prime", "checkpoint", "resume",
                       "metrics-out", "curve-out", "plot", "log-every", "time-limit", "lane-groups", "threads"},
                      {"resume"}, kUsage);
  const Stopwatch wall;
  const std::string checkpoint = args.str("checkpoint", "char_lm_checkpoint.npz");
  const Corpus corpus = load_corpus(args);
  // Under mpirun the other ranks read a copy of rank 0's checkpoint.
  const std::string resume_path = args.has("resume") ? examples::readable_everywhere(checkpoint) : checkpoint;
  RunRecord saved;
  if (args.has("resume")) saved = read_saved_run(resume_path);
  examples::RunConfig config(args, args.has("resume") ? &saved.config : nullptr);
  const Options options = read_options(args, config, corpus);
  if (args.has("resume")) check_vocabulary(saved, corpus.vocab);

  Run run(options, corpus, checkpoint, config, args.str("plot"));
  if (args.has("resume")) run.resume(resume_path, saved.loop, saved.texts.at("curves"));
  run.start_replicas(corpus);
  run.describe();
  run.train(args.str("curve-out"), wall.start);
  examples::Metrics metrics;
  run.report(metrics, wall.seconds());
  metrics.write(args.str("metrics-out"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return tapenet::examples::run_example("char_lm", argc, argv, run); }

