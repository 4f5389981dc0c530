// A sequence tagger (part-of-speech tags, BIO named entities): a BiLSTM over word
// embeddings and character BiLSTM features, softmax or CRF output (model.hpp has the
// equations), trained with the shared loop of examples/common (epochs, valid selection with
// early stopping, checkpoints that resume exactly, --max-minutes, progress, plot, metrics).
// Under mpirun every update's sentence chunks are shared out over the ranks
// (distributed::distributed_batch); rank 0 writes.
//
// The pieces: options.hpp (command line), corpus.hpp (CoNLL-U, two-column, synthetic),
// model.hpp (the net), conlleval.hpp (entity F1).
//
// Checkpoint layout (examples/common/run_checkpoint.hpp):
//   param/<name>            the parameters
//   state/<optimizer keys>  the optimizer's state_dict
//   state/trainer/..., state/best/<name>   the EarlyStopping (best valid epoch's parameters)
//   state/trainer/epoch_loss   [loss sum, tokens] of the epoch in progress
//   state/trainer/lr_plateau_* the learning-rate schedule (optim/lr_plateau.hpp)
//   run/config, run/loop    options and position; run/tags the tag set; run/curves the plot
//   FILE.vocab              the word vocabulary
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/metrics.hpp"
#include "../common/plot.hpp"
#include "../common/replicas.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/run_config.hpp"
#include "../common/train_loop.hpp"
#include "autograd/parallel_batch.hpp"
#include "conlleval.hpp"
#include "corpus.hpp"
#include "data/seeds.hpp"
#include "data/vocab.hpp"
#include "data/word_replacement.hpp"
#include "distributed/data_parallel.hpp"
#include "model.hpp"
#include "optim/checkpoint.hpp"
#include "optim/early_stopping.hpp"
#include "optim/lr_plateau.hpp"
#include "optim/optimizer.hpp"
#include "options.hpp"

using namespace tapenet;
using namespace tagger;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string pct(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << v << "%";
  return s.str();
}

struct Splits {
  std::vector<Sentence> train, valid, test;
};

Splits load_splits(const Options& o) {
  Splits s;
  if (o.synthetic) {
    const std::size_t held = std::max<std::size_t>(20, o.train_size / 5);
    s.train = synthetic_corpus(o.train_size, data::mix_seed(o.seed, 1));
    s.valid = synthetic_corpus(held, data::mix_seed(o.seed, 2));
    s.test = synthetic_corpus(held, data::mix_seed(o.seed, 3));
    return s;
  }
  auto read = [&](const std::string& path) { return read_tagged(path, file_format(path, o.format), o.column); };
  s.train = read(o.train);
  s.valid = read(o.valid);
  if (!o.test.empty()) s.test = read(o.test);
  return s;
}

std::vector<Encoded> encode(const std::vector<Sentence>& sentences, const data::Vocab& vocab,
                            const std::vector<std::string>& tags) {
  std::vector<Encoded> out;
  out.reserve(sentences.size());
  for (const Sentence& s : sentences) {
    Encoded e;
    for (std::size_t i = 0; i < s.size(); ++i) {
      e.words.push_back(vocab.index(s.words[i]));
      std::vector<std::int64_t> chars;
      for (unsigned char ch : s.words[i]) chars.push_back(ch);
      e.chars.push_back(std::move(chars));
      const auto it = std::lower_bound(tags.begin(), tags.end(), s.tags[i]);
      e.tags.push_back(it != tags.end() && *it == s.tags[i] ? std::int64_t(it - tags.begin()) : -1);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::size_t token_count(const std::vector<Sentence>& sentences) {
  std::size_t n = 0;
  for (const Sentence& s : sentences) n += s.size();
  return n;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += s + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// ---- evaluation -------------------------------------------------------------------------------

struct Scores {
  double accuracy = 0, f1 = NAN, precision = NAN, recall = NAN;
  std::size_t tokens = 0;
  std::string summary() const {
    std::string s = "accuracy " + pct(accuracy);
    if (!std::isnan(f1)) s += ", entity F1 " + pct(f1) + " (P " + pct(precision) + ", R " + pct(recall) + ")";
    return s;
  }
};

// Token accuracy (a tag unseen in training counts as an error) and, for BIO/IOB tag sets,
// conlleval's entity F1. Sentences are predicted in chunks of similar length, on threads.
Scores evaluate(Tagger& net, const std::vector<Sentence>& sentences, const std::vector<Encoded>& encoded,
                const std::vector<std::string>& tags, int threads) {
  net.eval();
  std::vector<std::size_t> order(encoded.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return encoded[a].words.size() < encoded[b].words.size(); });
  const std::size_t per_chunk = 32, chunks = (order.size() + per_chunk - 1) / per_chunk;
  std::vector<std::vector<std::int64_t>> predicted(encoded.size());
  ParallelOptions parallel;
  parallel.chunk_size = 1;
  parallel.threads = threads;
  parallel_evaluate<float>(
      chunks,
      [&](Tape<float>& tape, std::size_t c) {
        std::vector<const Encoded*> batch;
        const std::size_t end = std::min(order.size(), (c + 1) * per_chunk);
        for (std::size_t i = c * per_chunk; i < end; ++i) batch.push_back(&encoded[order[i]]);
        auto out = net.predict(tape, batch);
        for (std::size_t i = c * per_chunk; i < end; ++i) predicted[order[i]] = std::move(out[i - c * per_chunk]);
        return tape.constant(Tensor<float>(xt::zeros<float>({std::size_t(1)})));
      },
      parallel);
  Scores s;
  std::size_t correct = 0;
  const bool chunked = is_chunk_tagset(tags);
  ChunkCounts counts;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    std::vector<std::string> names;
    for (std::size_t t = 0; t < encoded[i].tags.size(); ++t) {
      correct += predicted[i][t] == encoded[i].tags[t];
      names.push_back(tags[std::size_t(predicted[i][t])]);
    }
    s.tokens += encoded[i].tags.size();
    if (chunked) counts.add(sentences[i].tags, names);
  }
  s.accuracy = s.tokens ? 100.0 * double(correct) / double(s.tokens) : 0.0;
  if (chunked) {
    s.f1 = counts.f1();
    s.precision = counts.precision();
    s.recall = counts.recall();
  }
  return s;
}

double selection_score(const Scores& s) { return std::isnan(s.f1) ? s.accuracy : s.f1; }

// ---- training ---------------------------------------------------------------------------------

struct Trainer {
  Tagger& net;
  Optimizer<float>& optimizer;
  const Options& o;
  const std::vector<Encoded>& train;
  const data::WordReplacement& replace_words;
  std::vector<std::size_t> order;
  double loss_sum = 0, tokens = 0;  // of the epoch so far
  bool keep_epoch_sums = false;     // resumed inside an epoch: its sums came from the checkpoint

  std::size_t start_epoch(std::size_t epoch) {
    net.train();
    order.resize(train.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(data::mix_seed(o.seed, 0x5EED, epoch));
    std::shuffle(order.begin(), order.end(), rng);
    if (!keep_epoch_sums) loss_sum = tokens = 0;
    keep_epoch_sums = false;
    return (train.size() + o.batch - 1) / o.batch;
  }

  // One update: the batch's sentences sorted by length and cut into chunks of --chunk, one
  // padded batch (and tape) each; the gradient is the mean over the batch's tokens.
  examples::StepResult train_batch(std::size_t epoch, std::size_t batch) {
    const std::size_t b0 = batch * o.batch, n = std::min(o.batch, order.size() - b0);
    std::vector<std::size_t> ids(order.begin() + std::ptrdiff_t(b0), order.begin() + std::ptrdiff_t(b0 + n));
    std::stable_sort(ids.begin(), ids.end(),
                     [&](std::size_t a, std::size_t b) { return train[a].words.size() < train[b].words.size(); });
    std::size_t batch_tokens = 0;
    for (std::size_t i : ids) batch_tokens += train[i].words.size();
    const std::size_t chunks = (n + o.chunk - 1) / o.chunk;
    ParallelOptions parallel;
    parallel.chunk_size = 1;
    parallel.threads = o.threads;
    optimizer.zero_grad();
    const float loss = distributed::distributed_batch<float>(
        distributed::world(), chunks,
        [&](Tape<float>& tape, std::size_t c) {
          std::vector<const Encoded*> sentences;
          std::vector<std::vector<std::int64_t>> words;
          for (std::size_t k = c * o.chunk; k < std::min(n, (c + 1) * o.chunk); ++k) {
            sentences.push_back(&train[ids[k]]);
            words.push_back(replace_words(train[ids[k]].words, epoch, ids[k]));
          }
          std::mt19937_64 drop(data::mix_seed(o.seed, data::mix_seed(epoch, batch), c + 1));
          return net.loss(tape, sentences, words, &drop);
        },
        net.parameters(), parallel);
    for (auto* p : net.parameters()) p->grad *= 1.0f / float(batch_tokens);
    optimizer.step();
    loss_sum += loss;
    tokens += double(batch_tokens);
    return {loss / double(batch_tokens), double(batch_tokens)};
  }
};

std::unique_ptr<Optimizer<float>> make_optimizer(Tagger& net, const Options& o) {
  std::unique_ptr<Optimizer<float>> opt;
  if (o.optimizer == "adam")
    opt = std::make_unique<Adam<float>>(net.parameters(), AdamOptions().with_lr(o.lr).with_betas(0.9, o.beta2));
  else
    opt = std::make_unique<SGD<float>>(net.parameters(), SGDOptions().with_lr(o.lr));
  if (o.clip > 0) opt->set_clip_norm(float(o.clip));
  return opt;
}

std::string data_fingerprint(const std::vector<Encoded>& train, std::size_t vocab) {
  std::uint64_t h = distributed::fingerprint(nullptr, 0);
  for (const Encoded& e : train) {
    h = distributed::fingerprint(e.words.data(), e.words.size() * sizeof(std::int64_t), h);
    h = distributed::fingerprint(e.tags.data(), e.tags.size() * sizeof(std::int64_t), h);
  }
  return std::to_string(train.size()) + " sentences, " + std::to_string(vocab) + " words, fingerprint " +
         distributed::hex(h);
}

int run(int argc, char** argv) {
  const auto wall_start = Clock::now();
  const examples::Args args = parse_args(argc, argv);
  const bool resume = args.has("resume");
  const std::string checkpoint_arg = args.str("checkpoint");
  if (resume && checkpoint_arg.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");
  // Under mpirun the other ranks read copies of rank 0's checkpoint and vocabulary.
  const std::string resume_path = resume ? examples::readable_everywhere(checkpoint_arg) : "";
  const std::string vocab_copy = resume ? examples::readable_everywhere(checkpoint_arg + ".vocab") : "";
  examples::RunRecord saved;
  if (resume) saved = examples::read_run_record(resume_path, {"curves", "tags"});
  examples::RunConfig run_config(args, resume ? &saved.config : nullptr);
  const Options o = parse_options(args, run_config);
  openblas_set_num_threads(o.used_threads);

  const Splits splits = load_splits(o);
  data::Vocab vocab;
  std::vector<std::string> tags;
  if (resume) {
    vocab = data::Vocab::load(vocab_copy);
    tags = split_lines(saved.texts.at("tags"));
  } else {
    data::WordCounts counts;
    for (const Sentence& s : splits.train)
      for (const std::string& w : s.words) ++counts[w];
    vocab = data::Vocab::build(counts, o.min_count);
    tags = tag_set(splits.train);
  }
  const std::vector<Encoded> train = encode(splits.train, vocab, tags), valid = encode(splits.valid, vocab, tags),
                             test = encode(splits.test, vocab, tags);
  for (const Encoded& e : train)
    if (std::find(e.tags.begin(), e.tags.end(), -1) != e.tags.end())
      throw std::invalid_argument("the training data has a tag outside the checkpoint's tag set");
  std::vector<std::size_t> counts(vocab.size(), 0);
  for (const Encoded& e : train) data::WordReplacement::add_counts(counts, e.words);
  const data::WordReplacement replace_words(std::move(counts), o.unk_replace, o.word_dropout, o.seed);

  ModelConfig mc = o.model;
  mc.words = vocab.size();
  mc.tags = tags.size();
  std::mt19937_64 init_rng(o.seed);
  Tagger net(mc, init_rng);
  const ParameterList<float> params = net.parameters();
  std::unique_ptr<Optimizer<float>> optimizer = make_optimizer(net, o);
  EarlyStopping<float> stopping(params, o.patience, "best");
  ReduceLROnPlateau<float> schedule(o.lr, o.lr_decay, o.lr_patience);
  Trainer trainer{net, *optimizer, o, train, replace_words, {}, 0, 0, false};
  examples::RunPlot plot(o.plot, {"epoch", "train loss per token", "tagger: " + o.describe(), "valid accuracy (%)"});

  examples::LoopState loop;
  if (resume) {
    loop = saved.loop;
    auto state = load_checkpoint(resume_path, params);
    stopping.load(state, resume_path);
    schedule.load(state, resume_path);
    const auto sums = state.find("trainer/epoch_loss");
    if (sums == state.end()) throw std::runtime_error(resume_path + " lacks state/trainer/epoch_loss");
    trainer.loss_sum = sums->second(0);
    trainer.tokens = sums->second(1);
    trainer.keep_epoch_sums = loop.batch > 0;
    Optimizer<float>::StateDict opt_state;
    for (auto& [key, value] : state)
      if (!stopping.owns(key) && key.rfind("trainer/", 0) != 0) opt_state[key] = value;
    optimizer->load_state_dict(opt_state);
    optimizer->set_lr(float(schedule.lr()));  // --lr (given again or the checkpoint's), decayed as before
    plot.restore(saved.texts.at("curves"), double(loop.epoch));
    std::cout << "resumed from " << checkpoint_arg << " at epoch " << loop.epoch << " batch " << loop.batch
              << " (best valid " << pct(stopping.best().score()) << " at epoch " << stopping.best().epoch() << ")\n";
  } else if (!o.checkpoint.empty() && examples::on_root()) {
    vocab.save(o.checkpoint + ".vocab");
  }
  const std::size_t start_epoch = loop.epoch;
  examples::start_replicas(run_config, params, data_fingerprint(train, vocab.size()));

  std::cout << "tagger: " << o.describe() << "; " << net.parameter_count() << " parameters; data "
            << (o.synthetic ? "synthetic" : o.train) << ": " << splits.train.size() << "/" << splits.valid.size()
            << "/" << splits.test.size() << " sentences (" << token_count(splits.train) << " training tokens), "
            << vocab.size() << " words, " << tags.size() << " tags\n";

  // The loop's hooks.
  const double epoch_tokens = double(token_count(splits.train));
  Scores last_valid;
  auto epoch_start = Clock::now();
  double epoch_train_tokens = 0;
  examples::LoopOptions lo;
  lo.epochs = o.epochs;
  lo.selection = &stopping;
  lo.evaluate_at_stop = true;
  lo.save_every_seconds = 600;
  lo.max_seconds = o.max_minutes * 60;
  lo.clock_start = wall_start;
  lo.unit = "tokens";
  lo.total_items = double(o.epochs > loop.epoch ? o.epochs - loop.epoch : 0) * epoch_tokens - trainer.tokens;
  examples::LoopHooks hooks;
  hooks.start_epoch = [&](std::size_t e) {
    epoch_start = Clock::now();
    const std::size_t n = trainer.start_epoch(e);
    epoch_train_tokens = trainer.tokens;  // 0, or the tokens already done when resumed inside the epoch
    return n;
  };
  hooks.train_batch = [&](const examples::LoopState& s) { return trainer.train_batch(s.epoch, s.batch); };
  hooks.status = [&](const examples::LoopState& s) {
    std::ostringstream text;
    text << "epoch " << s.epoch + (s.batch ? 1 : 0) << "/" << o.epochs << "  loss/token " << std::setprecision(4)
         << trainer.loss_sum / std::max(1.0, trainer.tokens) << "  best valid "
         << (stopping.best().has_score() ? pct(stopping.best().score()) : std::string("-"));
    return text.str();
  };
  hooks.evaluate = [&](const examples::LoopState&) {
    last_valid = evaluate(net, splits.valid, valid, tags, o.threads);
    net.train();
    return examples::Evaluation{selection_score(last_valid)};
  };
  hooks.after_step = [&](const examples::LoopState& s, const examples::StepResult&, const examples::Evaluation* e) {
    if (!e) return;
    const bool decayed = schedule.step(e->improved);
    if (decayed) optimizer->set_lr(float(schedule.lr()));
    const double x = double(s.epoch) + (s.batch ? double(s.batch) * double(o.batch) / double(train.size()) : 0.0);
    const double loss = trainer.loss_sum / std::max(1.0, trainer.tokens);
    plot.add("train loss per token", x, loss);
    plot.add("valid accuracy", x, last_valid.accuracy, 1);
    plot.draw();
    const double seconds = seconds_since(epoch_start);
    std::cout << "epoch " << std::fixed << std::setprecision(2) << x << std::defaultfloat << ": train loss/token "
              << std::setprecision(4) << loss << "  valid " << last_valid.summary() << (e->improved ? "  * best" : "")
              << "  [" << std::setprecision(4) << (trainer.tokens - epoch_train_tokens) / seconds << " tokens/s]"
              << (decayed ? "  lr -> " + std::to_string(schedule.lr()) : std::string()) << std::endl;
  };
  hooks.save = [&](const examples::LoopState& s) {
    if (o.checkpoint.empty()) return;
    Optimizer<float>::StateDict state = optimizer->state_dict();
    stopping.save(state);
    schedule.save(state);
    Tensor<float> sums = xt::zeros<float>({std::size_t(2)});
    sums(0) = float(trainer.loss_sum);
    sums(1) = float(trainer.tokens);
    state["trainer/epoch_loss"] = sums;
    examples::save_run(o.checkpoint, params, state,
                       examples::RunRecord{run_config.values(), s, {{"curves", plot.record()}, {"tags", join_lines(tags)}}});
  };
  const examples::LoopOutcome outcome = examples::run_training_loop(lo, hooks, loop);
  if (outcome.stopped_early) std::cout << "early stop: no better valid score for " << o.patience << " epochs\n";
  if (outcome.out_of_time) std::cout << "stopped by --max-minutes at epoch " << loop.epoch << " batch " << loop.batch << "\n";

  // Test once, with the parameters of the best valid evaluation.
  if (stopping.best().has_score()) stopping.best().restore();
  const Scores v = evaluate(net, splits.valid, valid, tags, o.threads);
  const Scores t = test.empty() ? Scores{} : evaluate(net, splits.test, test, tags, o.threads);
  std::cout << "best valid epoch " << stopping.best().epoch() << ": valid " << v.summary() << "\n";
  if (!test.empty()) std::cout << "test (" << t.tokens << " tokens): " << t.summary() << "\n";
  const double tokens_per_s = outcome.session_train_seconds > 0 ? outcome.session_items / outcome.session_train_seconds : 0;
  std::cout << "trained " << outcome.session_items << " tokens at " << std::setprecision(5) << tokens_per_s
            << " tokens/s; wall " << seconds_since(wall_start) << " s\n";

  examples::Metrics metrics;
  metrics.set("test_accuracy", test.empty() ? NAN : t.accuracy);
  metrics.set("valid_accuracy", v.accuracy);
  if (!std::isnan(v.f1)) {
    metrics.set("valid_f1", v.f1);
    metrics.set("test_f1", test.empty() ? NAN : t.f1);
    metrics.set("test_precision", test.empty() ? NAN : t.precision);
    metrics.set("test_recall", test.empty() ? NAN : t.recall);
  }
  metrics.set("test_tokens", double(t.tokens));
  metrics.set("best_epoch", stopping.best().epoch());
  metrics.set("epochs", double(loop.epoch));
  metrics.set("epochs_this_run", double(loop.epoch - start_epoch));
  metrics.set("stopped_early", outcome.stopped_early ? 1.0 : 0.0);
  metrics.set("out_of_time", outcome.out_of_time ? 1.0 : 0.0);
  metrics.set("final_lr", schedule.lr());
  metrics.set("lr_reductions", double(schedule.reductions()));
  metrics.set("tokens_per_s", tokens_per_s);
  metrics.set("train_s", outcome.session_train_seconds);
  metrics.set("wall_s", seconds_since(wall_start));
  metrics.set("parameters", double(net.parameter_count()));
  metrics.set("vocabulary", double(vocab.size()));
  metrics.set("tags", double(tags.size()));
  o.add_metrics(metrics);
  metrics.write(o.metrics_out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  distributed::Environment mpi(argc, argv);  // a one-process world without mpirun
  try {
    examples::quiet_unless_root();
    return run(argc, argv);
  } catch (const std::exception& e) {
    return examples::report_failure("tagger", e);  // under mpirun: ends every rank
  }
}
