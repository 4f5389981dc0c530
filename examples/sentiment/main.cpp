// Sentiment over parse trees (Socher et al. 2013): a recursive net composes a vector for
// every phrase of a binary constituency tree, bottom-up, and a softmax classifies every
// phrase into 5 classes (very negative .. very positive), or with --labels binary into
// negative / positive (SST-2: trees with a neutral root are left out, neutral phrases
// count nothing). The loss of a tree sums the cross-entropies of all its counted nodes.
//
//   RNN       p = tanh(W [a; b] + b)
//   RNTN      p = tanh([a; b]ᵀ V^{[1:d]} [a; b] + W [a; b] + b)
//   TreeLSTM  binary constituency Tree-LSTM (Tai et al. 2015), a forget gate per child
//   every node: y = softmax(W_s p + b_s),  loss = Σ_nodes -log y[gold]
//
// Training follows Stanford CoreNLP's RNTN trainer: minibatches of 27 trees, the batch
// gradient is the mean over its trees plus λ·θ per parameter class, AdaGrad with lr 0.01.
// A minibatch runs through parallel_batch: chunks of trees on their own tapes, reduced in a
// fixed order, so a run gives the same numbers with 1 or N threads.
//
// Usage: see kUsage in options.cpp and README.md in this folder.
//
// The pieces: options.hpp (the command line), corpus.hpp (the splits and the vocabulary),
// training.hpp (optimizer, minibatches, selection, checkpoint layout), evaluate.hpp (the
// figures), synthetic.hpp (the built-in treebank).
#include <cblas.h>

#include <chrono>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/replicas.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/run_config.hpp"
#include "../common/train_loop.hpp"
#include "corpus.hpp"
#include <tapenet/data/seeds.hpp>
#include <tapenet/data/tree.hpp>
#include <tapenet/data/vocab.hpp>
#include <tapenet/data/word_replacement.hpp>
#include "evaluate.hpp"
#include <tapenet/layers/init.hpp>
#include <tapenet/layers/tree_nets.hpp>
#include <tapenet/optim/averaging.hpp>
#include <tapenet/optim/checkpoint.hpp>
#include <tapenet/optim/early_stopping.hpp>
#include "options.hpp"
#include "training.hpp"

using namespace tapenet;
using namespace sentiment;
using examples::Policy;

namespace {

// ---- prediction output --------------------------------------------------------------------

// Prints the tree top-down (pre-order, explicit stack), one phrase per line, indented by
// depth: predicted class, P(class), the gold label when the input had one (always the
// treebank's 0-4), the phrase. probs is [n_nodes, classes] for a net of `mode`.
void print_phrases(const data::Tree& tree, const Tensor<float>& probs, data::LabelMode mode, std::ostream& out) {
  const std::size_t n = tree.size(), classes = probs.shape()[1];
  const std::vector<int> predicted = argmax_rows(probs);
  std::vector<std::size_t> first(n), last(n);
  std::vector<std::string> words;
  for (std::size_t i = 0; i < n; ++i) {  // post-order: children before parents
    const data::Node& node = tree.nodes[i];
    if (node.is_leaf()) {
      first[i] = last[i] = words.size();
      words.push_back(node.word);
    } else {
      first[i] = first[static_cast<std::size_t>(node.left)];
      last[i] = last[static_cast<std::size_t>(node.right)];
    }
  }
  std::vector<std::pair<int, int>> stack = {{tree.root, 0}};
  while (!stack.empty()) {
    auto [i, depth] = stack.back();
    stack.pop_back();
    const data::Node& node = tree.nodes[static_cast<std::size_t>(i)];
    const float* p = probs.data() + static_cast<std::size_t>(i) * classes;
    const int c = predicted[static_cast<std::size_t>(i)];
    std::string phrase;
    for (std::size_t w = first[i]; w <= last[i]; ++w) phrase += (w > first[i] ? " " : "") + words[w];
    char head[96];
    std::snprintf(head, sizeof head, "%d %-13s p=%.2f", c, class_name(mode, c), p[c]);
    out << std::string(2 * static_cast<std::size_t>(depth), ' ') << head;
    if (node.label != data::kUnknownLabel) out << " gold " << node.label;
    out << "  " << phrase << "\n";
    if (!node.is_leaf()) {
      stack.push_back({node.right, depth + 1});
      stack.push_back({node.left, depth + 1});
    }
  }
}


int run_predict(int argc, char** argv) {
  examples::Args args(argc, argv, {"checkpoint", "threads"}, {},
                      "usage: sentiment predict --checkpoint FILE  (reads trees or sentences from stdin, one per line)");
  if (!args.has("checkpoint")) throw std::invalid_argument("predict needs --checkpoint FILE");
  const std::string path = args.str("checkpoint");
  const examples::RunRecord saved = examples::read_run_record(path);
  examples::RunConfig run_config(args, &saved.config);
  const NetConfig config = net_config(args, run_config);
  const data::Vocab vocab = load_vocab(path);
  std::mt19937_64 rng(0);
  TreeNet<float> net(vocab.size(), config.dim, config.classes(), config.model, rng,
                     config.net_options());
  auto state = load_checkpoint(path, net.parameters());
  for (auto* p : net.parameters()) {  // predict with the best dev epoch's parameters
    auto it = state.find("best/" + p->name);
    if (it != state.end()) p->value = it->second;
  }
  net.eval();
  std::cerr << "sentiment: " << config.describe() << ", " << vocab.size()
            << " words; reading trees or sentences from stdin\n";
  std::string line;
  int errors = 0;
  for (std::size_t line_no = 1; std::getline(std::cin, line); ++line_no) {
    const auto start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos) continue;
    try {
      data::Tree tree = line[start] == '(' ? data::parse_tree(line.substr(start), "<stdin>", line_no)
                                           : data::binarize_sentence(line);
      if (config.lowercase) data::lowercase_words(tree);
      std::vector<Example> ex = {{tree, leaf_word_ids(tree, vocab)}};
      const auto probs = sentiment::node_probabilities(net, ex, 1);
      print_phrases(tree, probs[0], config.labels, std::cout);
      std::cout << std::endl;
    } catch (const std::exception& e) {
      std::cerr << "sentiment: " << e.what() << "\n";
      ++errors;
    }
  }
  return errors ? 1 : 0;
}

// ---- training -----------------------------------------------------------------------------------

// The training command line: every option it knows, then those of them without a value.
examples::Args train_args(int argc, char** argv) {
  return examples::Args(
      argc, argv,
      {"data", "train", "dev", "test", "plot", "model", "dim", "epochs", "patience", "batch", "optimizer", "lr", "dropout", "input-dropout", "root-weight", "cell-dropout", "composition-dropout", "min-count",
       "threads", "seed", "checkpoint", "resume", "metrics-out", "train-size", "identity-init",
       "adagrad-reset", "unk-replace", "word-dropout", "embed-lr-scale", "embed-sgd", "l2-words", "l2-words-in-batch", "clip", "labels",
       "leaf-tanh", "leaf-cell", "word-dim", "word-init-std", "average", "lowercase"},
      {"resume", "identity-init", "leaf-tanh", "lowercase", "l2-words-in-batch"}, kUsage);
}

std::uint64_t run_seed(examples::RunConfig& run_config) {
  const long seed_arg = run_config.integer("seed", 1, Policy::Fixed);  // it also makes the synthetic treebank
  if (seed_arg < 0) throw std::invalid_argument("--seed must be a whole number >= 0");
  return static_cast<std::uint64_t>(seed_arg);
}

// The splits, the vocabulary (from the training split, or the one saved with the
// checkpoint) and the splits as its examples.
struct RunData {
  Splits splits;
  data::Vocab vocab;
  std::vector<Example> train, dev, test;
};

RunData load_data(const examples::Args& args, examples::RunConfig& run_config, const NetConfig& config,
                  const TrainOptions& opts, std::uint64_t seed, bool resume, const std::string& checkpoint) {
  Splits splits = load_splits(args, run_config, seed, config.labels);
  if (config.lowercase)
    for (auto* split : {&splits.train, &splits.dev, &splits.test})
      for (data::Tree& tree : *split) data::lowercase_words(tree);
  if (splits.train.empty() || splits.dev.empty())
    throw std::invalid_argument("no training or dev tree has a non-neutral root: --labels binary needs some");
  data::Vocab vocab = resume ? load_vocab(checkpoint)
                             : data::Vocab::build(data::count_words(splits.train),
                                                  static_cast<std::size_t>(opts.min_count));
  std::vector<Example> train = sentiment::make_examples(splits.train, vocab);
  std::vector<Example> dev = sentiment::make_examples(splits.dev, vocab);
  std::vector<Example> test = sentiment::make_examples(splits.test, vocab);
  return {std::move(splits), std::move(vocab), std::move(train), std::move(dev), std::move(test)};
}

// Training-time word replacement by <unk>. With --min-count 1 no training token is <unk>,
// so without it the <unk> row (every dev/test word unseen in training: 6 % of SST's
// dev/test tokens, 60 % of their sentences) would only decay under L2 (to a zero vector).
// Hence on by default for real data; the synthetic treebank has no unseen words.
data::WordReplacement make_word_replacement(const RunData& run_data, const TrainOptions& opts, std::uint64_t seed) {
  std::vector<std::size_t> train_counts(run_data.vocab.size(), 0);
  for (const Example& ex : run_data.train) data::WordReplacement::add_counts(train_counts, ex.word_ids);
  return data::WordReplacement(std::move(train_counts), opts.unk_replace, opts.word_dropout, seed);
}

TreeNetOptions tree_net_options(const NetConfig& config, const TrainOptions& opts) {
  return config.net_options()
      .with_dropout(opts.dropout)
      .with_input_dropout(opts.input_dropout)
      .with_cell_dropout(opts.cell_dropout)
      .with_composition_dropout(opts.composition_dropout)
      .with_root_weight(opts.root_weight)
      .with_word_init_std(opts.word_init_std);
}

// --identity-init: W = [I + U(±r), I + U(±r)], as CoreNLP, from its own stream of the seed.
void identity_init(TreeNet<float>& net, std::size_t dim, std::uint64_t seed) {
  std::mt19937_64 identity_rng(data::mix_seed(seed, 0x1D));
  net.W.value = init::identity_blocks<float>(dim, 2, identity_rng);
}

void print_untrained_dev(TreeNet<float>& net, const std::vector<Example>& dev, int threads) {
  net.eval();
  const Scores s = sentiment::evaluate(net, dev, threads);
  std::cout << "epoch 0 (untrained): dev " << s.summary() << "\n";
}

struct TestScores {
  Scores dev, test, binary_dev, binary_test;
};

// Test once, with the parameters of the best dev epoch; the binary figure once more with
// those of the best dev binary epoch.
TestScores test_selected(TreeNet<float>& net, Selection& selection, const RunData& run_data, int threads) {
  net.eval();
  TestScores s;
  if (selection.fine_net) {
    selection.best_binary.restore();
    s.binary_dev = sentiment::evaluate(net, run_data.dev, threads);
    s.binary_test = sentiment::evaluate(net, run_data.test, threads);
  }
  selection.stopping.best().restore();
  s.dev = sentiment::evaluate(net, run_data.dev, threads);
  s.test = sentiment::evaluate(net, run_data.test, threads);
  return s;
}

// After the loop: why it stopped early, if it did, the test figures and, on the synthetic
// treebank, the probes.
TestScores report_test(TreeNet<float>& net, Selection& selection, const RunData& run_data, const TrainOptions& opts,
                       data::LabelMode labels, bool synthetic) {
  if (selection.stopping.stop())
    std::cout << "early stop: no better dev root " << labels_flag(labels) << " accuracy for " << opts.patience << " epochs\n";
  const TestScores s = test_selected(net, selection, run_data, opts.threads);
  print_test_results(labels, selection.stopping.best().epoch(), s.dev, s.test, selection.best_binary.epoch(),
                     s.binary_dev, s.binary_test);
  if (synthetic) print_probes(net, run_data.vocab, labels, opts.threads);
  return s;
}

// The training split as the net sees it: every tree's shape, labels and word ids.
std::string data_fingerprint(const RunData& run_data) {
  std::uint64_t h = distributed::fingerprint(nullptr, 0);
  for (const Example& ex : run_data.train) {
    for (const data::Node& node : ex.tree.nodes) {
      const int fields[3] = {node.left, node.right, node.label};
      h = distributed::fingerprint(fields, sizeof fields, h);
    }
    h = distributed::fingerprint(ex.word_ids.data(), ex.word_ids.size() * sizeof(std::int64_t), h);
  }
  return std::to_string(run_data.train.size()) + " training trees, " + std::to_string(run_data.vocab.size()) +
         " words, fingerprint " + distributed::hex(h);
}

double trees_per_second(const examples::LoopOutcome& outcome) {
  const double train_seconds = outcome.session_train_seconds;
  return train_seconds > 0 ? outcome.session_items / train_seconds : 0.0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The final figures, what was trained and how, and this session's epochs and speed.
void write_metrics(const std::string& path, const NetConfig& config, const TrainOptions& opts, const TestScores& s,
                   const Selection& selection, const std::string& data_source, std::size_t epochs,
                   std::size_t start_epoch, const examples::LoopOutcome& outcome,
                   std::chrono::steady_clock::time_point wall_start) {
  examples::Metrics metrics;
  add_score_metrics(metrics, config.labels, s.dev, s.test, s.binary_dev, s.binary_test, selection.best_binary.epoch());
  add_option_metrics(metrics, config, opts);
  metrics.set("best_epoch", selection.stopping.best().epoch());
  metrics.set("epochs", double(epochs));
  metrics.set("epochs_this_run", double(epochs - start_epoch));
  metrics.set("trees_per_s", trees_per_second(outcome));
  metrics.set("train_s", outcome.session_train_seconds);
  metrics.set("wall_s", seconds_since(wall_start));
  metrics.set("threads", opts.used_threads);
  metrics.set("data", data_source);
  metrics.write(path);
}

void print_speed(const examples::LoopOutcome& outcome, std::chrono::steady_clock::time_point wall_start) {
  std::cout << "trained " << outcome.session_items << " trees at " << std::setprecision(4) << trees_per_second(outcome)
            << " trees/s; wall " << seconds_since(wall_start) << " s\n";
}

int run_train(int argc, char** argv) {
  examples::Args args = train_args(argc, argv);
  const auto wall_start = std::chrono::steady_clock::now();
  const bool synthetic = !args.has("data") && !args.has("train");
  const std::string checkpoint = args.str("checkpoint");
  const bool resume = args.has("resume");
  if (resume && checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");

  // Under mpirun the other ranks read copies of rank 0's checkpoint and vocabulary.
  const std::string resume_path = resume ? examples::readable_everywhere(checkpoint) : "";
  if (resume) examples::readable_everywhere(checkpoint + ".vocab");
  examples::RunRecord saved;
  if (resume) saved = examples::read_run_record(resume_path, {"curves"});
  examples::RunConfig run_config(args, resume ? &saved.config : nullptr);
  const NetConfig config = net_config(args, run_config);
  check_data_source(run_config, synthetic);
  const std::uint64_t seed = run_seed(run_config);
  const TrainOptions opts = train_options(args, run_config, config, synthetic);
  // --threads bounds OpenBLAS too: the optimizer's update of a large table runs on its threads.
  openblas_set_num_threads(opts.used_threads);
  const data::LabelMode labels = config.labels;
  const bool is_lstm = config.model == TreeModel::TreeLSTM;

  const RunData run_data = load_data(args, run_config, config, opts, seed, resume, resume_path);
  const data::WordReplacement replace_words = make_word_replacement(run_data, opts, seed);

  // Model and optimizer (make_optimizer: the L2 λ per parameter class).
  std::mt19937_64 init_rng(seed);
  TreeNet<float> net(run_data.vocab.size(), config.dim, config.classes(), config.model, init_rng,
                     tree_net_options(config, opts));
  if (opts.identity_init && !is_lstm && !resume) identity_init(net, config.dim, seed);
  const ParameterList<float> params = net.parameters();
  TrainingOptimizer optimizer = make_optimizer(net, opts, is_lstm);
  // Polyak averaging: dev selection, the kept best parameters and test all use the average.
  std::unique_ptr<ParameterAverage<float>> average;
  if (opts.average_decay > 0) average = std::make_unique<ParameterAverage<float>>(params, opts.average_decay);

  Selection selection(params, opts.patience, labels == data::LabelMode::Fine);
  examples::LoopState loop;
  if (resume) {
    loop = saved.loop;
    resume_from(resume_path, params, opts, optimizer, selection, average.get(), loop.epoch);
  } else if (!checkpoint.empty()) {
    save_vocab(run_data.vocab, checkpoint);
  }
  const std::size_t start_epoch = loop.epoch;
  examples::start_replicas(run_config, params, data_fingerprint(run_data));

  print_header(config, net.parameter_count(), run_data.splits, run_data.vocab.size(), opts);
  if (!resume) print_untrained_dev(net, run_data.dev, opts.threads);

  BatchTrainer trainer{net, optimizer, average.get(), opts, replace_words, seed, labels, run_data.train, {}, 0, 0};
  TrainRun run{args, run_config, config, opts, run_data.train, run_data.dev, net, optimizer, average.get(),
               selection, trainer, checkpoint, {}, {}, 0,
               examples::RunPlot(args.str("plot"), {"epoch", "training loss per tree", "sentiment: " + config.describe(),
                                                    "dev accuracy (%)"})};
  if (resume) run.plot.restore(saved.texts.at("curves"), double(loop.epoch));
  const examples::LoopOutcome outcome = run.run(loop);

  const TestScores s = report_test(net, selection, run_data, opts, labels, synthetic);
  write_metrics(args.str("metrics-out"), config, opts, s, selection, run_data.splits.source, loop.epoch, start_epoch,
                outcome, wall_start);
  print_speed(outcome, wall_start);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_example("sentiment", argc, argv, [](int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "predict") {
      examples::require_one_process("sentiment predict");
      argv[1] = argv[0];
      return run_predict(argc - 1, argv + 1);
    }
    return run_train(argc, argv);
  });
}
