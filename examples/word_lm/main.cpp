// A word-level language model (Zaremba, Sutskever & Vinyals 2014): an embedding, a stacked
// LSTM or GRU and a full-softmax readout (layers/language_model.hpp) trained on a corpus read
// as --batch parallel streams with truncated BPTT of --bptt steps; the state is carried,
// detached, from one chunk to the next and reset at every epoch. See README.md.
//
//   training objective  Σ_t mean_b -log p(w_{t+1} | w_≤t) over a chunk's steps (the
//                       objective Zaremba et al.'s learning rate of 1 refers to)
//   perplexity          exp(mean over every predicted token of the stream)
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <unistd.h>

#include "../common/cli.hpp"
#include "../common/lane_groups.hpp"
#include "../common/metrics.hpp"
#include "../common/plot.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/train_loop.hpp"
#include "corpus.hpp"
#include <tapenet/data/token_lanes.hpp>
#include <tapenet/layers/cell_factory.hpp>
#include <tapenet/layers/language_model.hpp>
#include <tapenet/optim/clip.hpp>
#include <tapenet/optim/early_stopping.hpp>
#include <tapenet/optim/optimizer.hpp>
#include "options.hpp"

extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own call (cblas.h has no portable one)

using namespace tapenet;
using namespace word_lm;

namespace {

std::string fixed(double v, int digits = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// stdout, without tearing the progress bar.
void say(const std::string& text) {
  if (::isatty(2)) std::fputs("\r\033[K", stderr);
  std::cout << text << std::flush;
}

std::unique_ptr<Optimizer<float>> make_optimizer(const Options& o, const ParameterList<float>& params) {
  std::unique_ptr<Optimizer<float>> opt;
  if (o.optimizer == "sgd") opt = std::make_unique<SGD<float>>(params, SGDOptions().with_lr(o.lr).with_weight_decay(o.weight_decay));
  else if (o.optimizer == "adam") opt = std::make_unique<Adam<float>>(params, AdamOptions().with_lr(o.lr).with_weight_decay(o.weight_decay));
  else opt = std::make_unique<AdamW<float>>(params, AdamWOptions().with_lr(o.lr).with_weight_decay(o.weight_decay));
  opt->set_clip_norm(float(o.clip));  // global norm, before every step
  return opt;
}

LanguageModelOptions model_options(const Options& o, std::size_t vocab) {
  return LanguageModelOptions{vocab, o.embed, o.hidden, o.layers}
      .with_dropout(o.dropout, o.variational)
      .with_tied_weights(o.tied)
      .with_init_scale(o.init_scale);
}

const std::string kCarryPrefix = "word_lm/carry/";

// One run: the model, its optimizer, the best-on-valid parameters and the loop's hooks.
class Run {
 public:
  Run(const Options& o, const Corpus& corpus, const examples::ConfigValues& config)
      : o_(o), corpus_(corpus), config_(config), init_rng_(o.seed),
        model_(model_options(o, corpus.vocab.size()), cell_factory<float>(parse_cell(o.cell), init_rng_), init_rng_),
        params_(model_.parameters()), optimizer_(make_optimizer(o, params_)), best_(params_, 0),
        lanes_(corpus.train.ids, o.batch, o.bptt),
        plot_(o.plot, {"epoch", "perplexity", "word_lm: " + corpus.source + " (" + o.cell + ")", ""}) {
    if (lanes_.full_chunks() == 0)
      throw std::invalid_argument("the training text (" + std::to_string(corpus.train.ids.size()) +
                                  " tokens) is too short for --batch " + std::to_string(o.batch) + " x --bptt " +
                                  std::to_string(o.bptt));
  }

  void resume(const std::string& path, const examples::LoopState& loop, const std::string& curves);
  // Under mpirun: the same options, model and training text on every rank.
  void start_replicas(const examples::RunConfig& config) const {
    const auto& ids = corpus_.train.ids;
    const std::uint64_t h = distributed::fingerprint(ids.data(), ids.size() * sizeof(ids[0]));
    examples::start_replicas(config, params_, std::to_string(ids.size()) + " training tokens, fingerprint " +
                                                  distributed::hex(h));
  }
  void describe();
  examples::LoopOutcome train();
  void report(examples::Metrics& metrics, double wall_seconds);

 private:
  examples::StepResult train_chunk(const examples::LoopState& s);
  examples::Evaluation validate(const examples::LoopState& s);
  std::string status(const examples::LoopState& s) const;
  void save(const examples::LoopState& s) const;
  std::vector<std::string> samples();

  const Options& o_;
  const Corpus& corpus_;
  examples::ConfigValues config_;
  std::mt19937_64 init_rng_;
  RNNLanguageModel<float> model_;
  ParameterList<float> params_;
  std::unique_ptr<Optimizer<float>> optimizer_;
  EarlyStopping<float> best_;  // patience 0: keeps the best-on-valid parameters, never stops
  data::TokenLanes lanes_;
  examples::RunPlot plot_;  // --plot: train and valid perplexity by epoch
  std::vector<std::int64_t> inputs_, targets_;
  std::vector<StateValues<float>> carry_;
  examples::LoopState state_;
  double epoch_loss_ = 0, valid_ppl_ = NAN, resumed_seconds_ = 0;
  std::size_t epoch_steps_ = 0, start_step_ = 0;
};

void Run::resume(const std::string& path, const examples::LoopState& loop, const std::string& curves) {
  state_ = loop;
  plot_.restore(curves, double(loop.epoch));
  start_step_ = loop.step;
  resumed_seconds_ = loop.train_seconds;
  std::map<std::string, Tensor<float>> state = load_checkpoint(path, params_);
  best_.load(state, path);
  carry_ = examples::take_carried_states(state, kCarryPrefix);
  std::map<std::string, Tensor<float>> optimizer_state;
  for (auto& [key, t] : state)
    if (!best_.owns(key)) optimizer_state[key] = t;
  optimizer_->load_state_dict(optimizer_state);
  std::cout << "resumed from " << o_.checkpoint << " at epoch " << loop.epoch + 1 << ", step " << loop.step << "\n";
}

void Run::save(const examples::LoopState& s) const {
  std::map<std::string, Tensor<float>> state = optimizer_->state_dict();
  best_.save(state);
  examples::put_carried_states(state, kCarryPrefix, carry_);
  examples::save_run(o_.checkpoint, params_, state, examples::RunRecord{config_, s, {{"vocab", corpus_.vocab.to_text()}, {"curves", plot_.record()}}});
}

void Run::describe() {
  std::cout << "model: " << o_.layers << "-layer " << o_.cell << ", hidden " << o_.hidden << ", embed " << o_.embed
            << (o_.tied ? " (tied)" : "") << ", dropout " << o_.dropout << (o_.variational ? " (variational)" : "")
            << ", " << model_.parameter_count() << " parameters; " << o_.optimizer << " lr " << o_.lr << " (x"
            << o_.lr_decay << " per epoch after " << o_.decay_after << "), clip " << o_.clip << "\n"
            << "training: " << o_.epochs << " epochs of " << lanes_.full_chunks() << " steps (batch " << o_.batch
            << " x bptt " << o_.bptt << "); vocabulary " << corpus_.vocab.size() << std::endl;
}

examples::StepResult Run::train_chunk(const examples::LoopState& s) {
  if (s.batch == 0) {  // a new epoch: zero states, the epoch's learning rate
    carry_.clear();
    optimizer_->set_lr(float(o_.lr_at(s.epoch)));
    epoch_loss_ = 0;
    epoch_steps_ = 0;
  }
  lanes_.chunk(s.batch, inputs_, targets_);
  examples::LaneGroupOptions groups;
  groups.groups = o_.lane_groups;
  groups.dropout_seed = o_.seed * 1000003 + s.step;  // a pure function of the step: resumable
  groups.scale = float(o_.bptt);                     // backward on Σ over the steps of the batch mean
  groups.threads = o_.threads;
  optimizer_->zero_grad();
  // carry_ becomes the state after this chunk, detached: the next chunk's start.
  const float loss = examples::train_lane_groups(model_, inputs_, targets_, o_.batch, carry_, params_, groups);
  optimizer_->step();
  epoch_loss_ += loss;
  ++epoch_steps_;
  return {loss, double(targets_.size())};
}

std::string Run::status(const examples::LoopState& s) const {
  const double seconds = s.train_seconds - resumed_seconds_;
  const double loss = epoch_steps_ ? epoch_loss_ / double(epoch_steps_) : NAN;
  return "epoch " + std::to_string(s.epoch + (s.batch ? 1 : 0)) + "/" + std::to_string(o_.epochs) + " loss " +
         fixed(loss, 3) + " ppl " + fixed(std::exp(loss), 1) + " " +
         fixed(seconds > 0 ? double((s.step - start_step_) * o_.batch * o_.bptt) / seconds : 0, 0) + " words/s";
}

examples::Evaluation Run::validate(const examples::LoopState& s) {
  const StreamEvaluation v = evaluate_stream(model_, corpus_.valid.ids, o_.eval_batch, o_.bptt);
  valid_ppl_ = v.perplexity();
  const double train_ppl = std::exp(epoch_loss_ / double(std::max<std::size_t>(1, epoch_steps_)));
  say("epoch " + std::to_string(s.epoch) + ": lr " + fixed(o_.lr_at(s.epoch - 1), 4) + ", train ppl " +
      fixed(train_ppl) + ", valid ppl " + fixed(valid_ppl_) + ", " + fixed(s.train_seconds / 60, 1) +
      " min of training\n");
  plot_.add("train ppl", double(s.epoch), train_ppl);
  plot_.add("valid ppl", double(s.epoch), valid_ppl_);
  plot_.draw();
  return examples::Evaluation{valid_ppl_};
}

examples::LoopOutcome Run::train() {
  examples::LoopOptions lo;
  lo.epochs = o_.epochs;
  lo.max_seconds = o_.max_minutes * 60;
  lo.save_every_seconds = 300;
  lo.higher_is_better = false;
  lo.selection = &best_;
  lo.unit = "words";
  const std::size_t per_epoch = lanes_.full_chunks();
  const std::size_t total_steps = o_.epochs * per_epoch;
  lo.total_items = double(total_steps > state_.step ? (total_steps - state_.step) * o_.batch * o_.bptt : 0);
  examples::LoopHooks hooks;
  hooks.start_epoch = [per_epoch](std::size_t) { return per_epoch; };
  hooks.train_batch = [this](const examples::LoopState& s) { return train_chunk(s); };
  hooks.status = [this](const examples::LoopState& s) { return status(s); };
  hooks.evaluate = [this](const examples::LoopState& s) { return validate(s); };
  hooks.save = [this](const examples::LoopState& s) { save(s); };
  examples::LoopOutcome outcome = examples::run_training_loop(lo, hooks, state_);
  if (outcome.out_of_time) say("stopping: --max-minutes " + fixed(o_.max_minutes, 1) + " reached (checkpoint saved)\n");
  return outcome;
}

// Sentences sampled from the model, each from <eos> to the next <eos> (at most 40 words).
std::vector<std::string> Run::samples() {
  std::vector<std::string> out;
  const std::int64_t eos = *corpus_.vocab.find("<eos>");
  std::mt19937_64 rng(o_.seed * 7919);
  for (std::size_t i = 0; i < o_.sample_sentences; ++i) {
    std::string sentence;
    for (std::int64_t id : model_.sample({eos}, 40, 1.0, rng)) {
      if (id == eos) break;
      sentence += (sentence.empty() ? "" : " ") + corpus_.vocab.word(id);
    }
    out.push_back(sentence);
  }
  return out;
}

void Run::report(examples::Metrics& metrics, double wall_seconds) {
  const double last_valid = valid_ppl_;
  if (best_.best().has_score()) best_.best().restore();  // test the best-on-valid parameters, once
  const double valid = evaluate_stream(model_, corpus_.valid.ids, o_.eval_batch, o_.bptt).perplexity();
  const bool has_test = !corpus_.test.ids.empty();
  const double test = has_test ? evaluate_stream(model_, corpus_.test.ids, o_.eval_batch, o_.bptt).perplexity() : NAN;
  const double words_per_s =
      state_.train_seconds > resumed_seconds_
          ? double((state_.step - start_step_) * o_.batch * o_.bptt) / (state_.train_seconds - resumed_seconds_)
          : 0;
  std::cout << "best epoch " << best_.best().epoch() << ": valid ppl " << fixed(valid)
            << (has_test ? ", test ppl " + fixed(test) : "") << "; " << fixed(words_per_s, 0) << " words/s\n";
  const std::vector<std::string> sampled = samples();
  for (const auto& s : sampled) std::cout << "  sample: " << s << "\n";
  metrics.set("valid_ppl", valid);
  if (has_test) metrics.set("test_ppl", test);
  metrics.set("last_valid_ppl", last_valid);
  metrics.set("best_epoch", double(best_.best().epoch()));
  metrics.set("words_per_s", words_per_s);
  metrics.set("wall_s", wall_seconds);
  metrics.set("train_seconds", state_.train_seconds);
  metrics.set("parameters", double(model_.parameter_count()));
  metrics.set("epochs", double(state_.epoch) + double(state_.batch) / double(lanes_.full_chunks()));
  metrics.set("steps", double(state_.step));
  metrics.set("vocab_size", double(corpus_.vocab.size()));
  metrics.set("valid_unknown_words", double(corpus_.valid.unknown));
  metrics.set("preset", o_.preset);
  metrics.set("cell", o_.cell);
  metrics.set("data", corpus_.source);
  metrics.set("sample", sampled.empty() ? "" : sampled.front());
}

int run(int argc, char** argv) {
  const auto clock_start = std::chrono::steady_clock::now();
  examples::Args args(argc, argv, option_names(), flag_names(), kUsage);
  const bool resume = args.has("resume");
  // Under mpirun the other ranks read a copy of rank 0's checkpoint.
  const std::string resume_path = resume ? examples::readable_everywhere(args.str("checkpoint", "word_lm.npz")) : "";
  examples::RunRecord saved;
  if (resume) saved = examples::read_run_record(resume_path, {"vocab", "curves"});
  examples::RunConfig config(args, resume ? &saved.config : nullptr);
  const Options o = read_options(args, config);
  openblas_set_num_threads(o.threads);
  data::WordCorpusOptions corpus_options;
  corpus_options.unk = o.unk;
  corpus_options.max_vocab = o.max_vocab;
  const Corpus corpus = load_corpus(o.train, o.valid, o.test, corpus_options);
  if (resume && saved.texts.at("vocab") != corpus.vocab.to_text())
    throw std::invalid_argument("the vocabulary of " + corpus.source + " differs from the checkpoint's: resume with the same --train");
  std::cout << "data: " << corpus.source << ": " << corpus.train.ids.size() << " training, " << corpus.valid.ids.size()
            << " valid, " << corpus.test.ids.size() << " test tokens (<eos> included); " << corpus.valid.unknown
            << " valid words mapped to " << o.unk << "\n";
  Run run(o, corpus, config.values());
  if (resume) run.resume(resume_path, saved.loop, saved.texts.at("curves"));
  run.start_replicas(config);
  run.describe();
  run.train();
  examples::Metrics metrics;
  run.report(metrics, std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count());
  metrics.write(o.metrics_out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return tapenet::examples::run_example("word_lm", argc, argv, run); }
