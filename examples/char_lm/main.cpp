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
#include <random>
#include <sstream>
#include <unistd.h>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/progress.hpp"
#include "io/npz.hpp"
#include "corpus.hpp"
#include "data/text.hpp"
#include "model.hpp"
#include "optim/checkpoint.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"
#include "training_state.hpp"

using namespace tapenet;
using namespace char_lm;

namespace {

const char* const kUsage = R"(usage: char_lm [options]
Trains a character-level LSTM/GRU language model with truncated BPTT.

data
  --data PATH           UTF-8 text: first 90% trains, last 10% validates
                        (default: a built-in synthetic text)
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
  --log-every N         progress / curve row every N steps (50))";

constexpr double kLn2 = 0.69314718055994530942;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open --data '" + path + "'");
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
  Curve(std::string path, bool resume, std::size_t start) : path_(std::move(path)) {
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

}  // namespace

int main(int argc, char** argv) try {
  examples::Args args(argc, argv,
                      {"data", "synthetic-chars", "cell", "layers", "hidden", "embed", "dropout", "seq", "batch",
                       "optimizer", "lr", "lr-schedule", "min-lr", "clip", "steps", "epochs", "seed", "eval-every",
                       "eval-tokens", "eval-batch", "sample", "temperature", "prime", "checkpoint", "resume",
                       "metrics-out", "curve-out", "log-every", "time-limit"},
                      {"resume"}, kUsage);
  const Stopwatch wall;
  auto non_negative = [&](const std::string& key, double fallback) {
    const double v = args.num(key, fallback);
    if (!(v >= 0)) throw std::invalid_argument("--" + key + " must not be negative");
    return v;
  };
  const std::string checkpoint = args.str("checkpoint", "char_lm_checkpoint.npz");
  const bool resume = args.has("resume");

  // ---- data ----
  const std::string source = args.has("data") ? args.str("data") : "synthetic text";
  const Corpus corpus = make_corpus(
      args.has("data") ? read_file(args.str("data"))
                       : synthetic_text(static_cast<std::size_t>(non_negative("synthetic-chars", 200000))),
      source);
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

  // ---- configuration (a resumed run takes the checkpoint's) ----
  SavedRun saved;
  if (resume) saved = read_saved_run(checkpoint);
  Settings settings(args, resume ? &saved.settings : nullptr);
  ModelConfig config;
  config.cell = settings.choice("cell", "lstm", {"lstm", "gru"});
  config.layers = settings.count("layers", 2);
  config.hidden = settings.count("hidden", 256);
  config.embed = settings.count("embed", 64);
  config.dropout = static_cast<float>(settings.number("dropout", 0.0));
  config.vocab = corpus.vocab.size();
  const std::size_t seq = settings.count("seq", 64);
  const std::size_t batch = settings.count("batch", 32);
  const std::string optimizer_name = settings.choice("optimizer", "adam", {"adam", "rmsprop"});
  if (resume) check_vocabulary(saved, corpus.vocab);

  const Lanes lanes(corpus.train, batch, seq);
  const std::size_t per_epoch = lanes.full_chunks();
  if (per_epoch == 0)
    throw std::invalid_argument("the training text (" + std::to_string(corpus.train.size()) +
                                " characters) is too short for --batch " + std::to_string(batch) + " x --seq " +
                                std::to_string(seq));
  // --steps, else --epochs, else (resuming) the checkpoint's plan, else one epoch.
  const std::size_t total_steps =
      args.has("steps")                          ? static_cast<std::size_t>(non_negative("steps", 0))
      : !args.has("epochs") && settings.saved("steps") ? static_cast<std::size_t>(*settings.saved("steps"))
      : static_cast<std::size_t>(std::llround(non_negative("epochs", 1.0) * double(per_epoch)));
  settings.set("steps", double(total_steps));
  const double lr = settings.number("lr", 2e-3), min_lr = settings.number("min-lr", lr / 10),
               clip = settings.number("clip", 5.0);
  const std::string schedule = settings.choice("lr-schedule", "cosine", {"constant", "cosine"}, false);
  const auto seed = static_cast<std::uint64_t>(settings.number("seed", 1));
  const auto eval_every = static_cast<std::size_t>(std::max(1L, args.integer("eval-every", 200)));
  const auto log_every = static_cast<std::size_t>(std::max(1L, args.integer("log-every", 50)));
  const auto eval_tokens = static_cast<std::size_t>(non_negative("eval-tokens", 0));
  const auto eval_batch = static_cast<std::size_t>(std::max(1L, args.integer("eval-batch", 32)));
  const auto sample_chars = static_cast<std::size_t>(non_negative("sample", 200));
  const double temperature = args.num("temperature", 0.8);
  const std::vector<std::int64_t> prime =
      args.has("prime") ? corpus.vocab.encode_strict(data::decode_utf8(args.str("prime")), "--prime")
                        : std::vector<std::int64_t>{corpus.vocab.contains(U'\n') ? corpus.vocab.id(U'\n', "")
                                                                                 : corpus.train.front()};
  if (prime.empty()) throw std::invalid_argument("--prime must not be empty");

  // ---- model and optimizer ----
  std::mt19937_64 init_rng(seed);
  CharLM model(config, init_rng);
  ParameterList<float> params = model.parameters();
  std::unique_ptr<Optimizer<float>> optimizer;
  if (optimizer_name == "adam")
    optimizer = std::make_unique<Adam<float>>(params, AdamOptions().with_lr(lr));
  else
    optimizer = std::make_unique<RMSProp<float>>(params, RMSPropOptions().with_lr(lr));

  TrainingState state;
  if (resume) {
    state = restore(checkpoint, params, *optimizer);
    std::cout << "resumed from " << checkpoint << " at step " << state.step << "\n";
  }
  std::cout << "model: " << config.layers << "-layer " << config.cell << ", hidden " << config.hidden << ", embed "
            << config.embed << ", " << model.parameter_count() << " parameters; " << optimizer_name << " lr " << lr
            << " (" << schedule << "), clip " << clip << ", seq " << seq << ", batch " << batch << "\n"
            << "training: " << total_steps << " steps (" << per_epoch << " per epoch, "
            << fixed(double(total_steps) / double(per_epoch), 2) << " epochs); a uniform guess costs "
            << fixed(std::log(double(corpus.vocab.size()))) << " nats/char" << std::endl;

  auto lr_at = [&](std::size_t step) {
    if (schedule == "constant" || total_steps <= 1) return lr;
    // lr_t = min + (peak - min)·(1 + cos(π t / (T-1))) / 2
    const double progress = double(std::min(step, total_steps - 1)) / double(total_steps - 1);
    return min_lr + (lr - min_lr) * 0.5 * (1 + std::cos(M_PI * progress));
  };
  auto sample_text = [&](std::size_t step) {
    std::mt19937_64 rng(seed * 7919 + step);  // a pure function of the step
    return corpus.vocab.decode(prime) + corpus.vocab.decode(model.sample(prime, sample_chars, temperature, rng));
  };
  const bool tty = ::isatty(2);
  auto say = [&](const std::string& text) {  // stdout, without tearing the progress bar
    if (tty) std::fputs("\r\033[K", stderr);
    std::cout << text << std::flush;
  };

  // ---- training ----
  Curve curve(args.str("curve-out"), resume, state.step);
  const std::size_t start = state.step;
  const std::size_t tokens_per_step = batch * seq;
  examples::Progress progress(total_steps > start ? (total_steps - start) * tokens_per_step : 0, "tok");
  Tape<float> tape;
  std::vector<std::int64_t> inputs, targets;
  double window_loss = 0, eval_window_loss = 0, train_seconds = 0, eval_seconds = 0, last_loss = NAN;
  std::size_t window_steps = 0, eval_window_steps = 0, skipped = 0;
  double val = NAN, train_loss = NAN;
  std::string last_sample;
  auto run_eval = [&](std::size_t step) {
    const Stopwatch timer;
    const EvalResult r = evaluate(model, corpus.valid, eval_batch, seq, eval_tokens);
    val = r.nats;
    if (std::isnan(state.best_val) || val < state.best_val) state.best_val = val;
    std::ostringstream line;
    line << "step " << step << "/" << std::max(step, total_steps);
    if (!std::isnan(train_loss))
      line << " | train " << fixed(train_loss) << " nats/char (" << fixed(train_loss / kLn2) << " bits)";
    line << " | val " << fixed(val) << " nats/char (" << fixed(val / kLn2) << " bits/char, " << r.tokens
         << " chars) | lr " << std::setprecision(3) << lr_at(step ? step - 1 : 0) << " | " << fixed(wall.seconds(), 0)
         << " s\n";
    if (sample_chars) {
      last_sample = sample_text(step);
      line << "---- sample (temperature " << temperature << ") ----\n" << last_sample << "\n----\n";
    }
    say(line.str());
    eval_seconds += timer.seconds();
  };
  const double time_limit = args.num("time-limit", 0);
  bool out_of_time = false;
  for (std::size_t step = start; step < total_steps; ++step) {
    const Stopwatch step_time;
    const std::size_t chunk = step % per_epoch;
    if (chunk == 0) state.carry.clear();  // a new pass over the lanes starts from zero states
    lanes.chunk(chunk, inputs, targets);
    optimizer->set_lr(static_cast<float>(lr_at(step)));
    std::mt19937_64 dropout_rng(seed * 1000003 + step);  // a pure function of the step: resumable

    tape.clear();
    std::vector<State> states;
    for (const auto& v : state.carry) states.push_back(constant_state(v, tape));
    Var<float> loss = model.loss(tape, inputs, targets, batch, states, dropout_rng);
    state.carry.clear();  // the state after this chunk, detached: the next chunk's start
    for (const auto& s : states) state.carry.push_back(state_values(s));
    optimizer->zero_grad();
    tape.backward(loss);
    const float norm = clip > 0 ? clip_grad_norm(params, clip) : grad_norm(params);
    last_loss = loss.item();
    if (!std::isfinite(last_loss) || !std::isfinite(norm)) {
      ++skipped;  // keep the weights; the next chunk starts from zero states
      state.carry.clear();
      say("warning: step " + std::to_string(step + 1) + ": loss " + std::to_string(last_loss) + ", gradient norm " +
          std::to_string(norm) + "; update skipped\n");
    } else {
      optimizer->step();
      window_loss += last_loss;
      eval_window_loss += last_loss;
      ++window_steps;
      ++eval_window_steps;
    }
    state.step = step + 1;
    train_seconds += step_time.seconds();

    out_of_time = time_limit > 0 && wall.seconds() >= time_limit && state.step < total_steps;
    const bool last = state.step == total_steps || out_of_time, eval_now = state.step % eval_every == 0 || last;
    if (tty || state.step % log_every == 0 || last) {
      std::ostringstream status;
      status << "step " << state.step << "/" << total_steps << " loss "
             << fixed(window_steps ? window_loss / double(window_steps) : last_loss, 3) << " ("
             << fixed(train_seconds > 0 ? double((state.step - start) * tokens_per_step) / train_seconds : 0, 0)
             << " train tok/s)";
      progress.update((state.step - start) * tokens_per_step, status.str());
    }
    if (state.step % log_every == 0 || eval_now) {
      train_loss = eval_window_steps ? eval_window_loss / double(eval_window_steps) : last_loss;
      double row_val = NAN;
      if (eval_now) {
        run_eval(state.step);
        row_val = val;
        eval_window_loss = 0;
        eval_window_steps = 0;
        save(checkpoint, params, *optimizer, state, settings.values(), corpus.vocab);
      }
      curve.row(state.step, window_steps ? window_loss / double(window_steps) : last_loss, row_val);
      window_loss = 0;
      window_steps = 0;
    }
    if (out_of_time) {
      say("stopping at step " + std::to_string(state.step) + ": --time-limit " + fixed(time_limit, 0) + " s reached\n");
      break;
    }
  }
  if (start >= total_steps) run_eval(state.step);  // nothing to train (e.g. --resume at the end): evaluate, sample

  const double tokens_per_s = train_seconds > 0 ? double((state.step - start) * tokens_per_step) / train_seconds : 0;
  std::cout << "done: step " << state.step << ", validation " << fixed(val) << " nats/char = " << fixed(val / kLn2)
            << " bits/char (best " << fixed(state.best_val) << "), " << fixed(tokens_per_s, 0)
            << " train tokens/s, wall " << fixed(wall.seconds(), 1) << " s"
            << (skipped ? ", " + std::to_string(skipped) + " steps skipped (non-finite)" : "") << "\n";

  examples::Metrics metrics;
  metrics.set("train_loss_nats", train_loss);
  metrics.set("val_loss_nats", val);
  metrics.set("train_bits_per_char", train_loss / kLn2);
  metrics.set("val_bits_per_char", val / kLn2);
  metrics.set("best_val_loss_nats", state.best_val);
  metrics.set("last_step_loss", last_loss);
  metrics.set("tokens_per_s", tokens_per_s);
  metrics.set("wall_s", wall.seconds());
  metrics.set("train_s", train_seconds);
  metrics.set("eval_s", eval_seconds);
  metrics.set("parameters", double(model.parameter_count()));
  metrics.set("steps", double(state.step));
  metrics.set("start_step", double(start));
  metrics.set("epochs", double(state.step) / double(per_epoch));
  metrics.set("tokens_trained", double(state.step * tokens_per_step));
  metrics.set("skipped_steps", double(skipped));
  metrics.set("vocab_size", double(corpus.vocab.size()));
  metrics.set("valid_unknown_chars", double(corpus.valid_unknown));
  metrics.set("data", source);
  metrics.set("cell", config.cell);
  metrics.set("layers", double(config.layers));
  metrics.set("hidden", double(config.hidden));
  metrics.set("embed", double(config.embed));
  metrics.set("dropout", config.dropout);
  metrics.set("seq", double(seq));
  metrics.set("batch", double(batch));
  metrics.set("optimizer", optimizer_name);
  metrics.set("lr", lr);
  metrics.set("sample", last_sample);
  metrics.write(args.str("metrics-out"));
  return 0;
} catch (const std::exception& e) {
  std::cerr << "char_lm: " << e.what() << "\n";
  return 1;
}
