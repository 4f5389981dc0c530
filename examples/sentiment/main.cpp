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
// Usage: see kUsage below and README.md in this folder.
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/progress.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/run_config.hpp"
#include "../common/train_loop.hpp"
#include "io/npz.hpp"
#include "autograd/parallel_batch.hpp"
#include "data/seeds.hpp"
#include "data/tree.hpp"
#include "data/vocab.hpp"
#include "data/word_replacement.hpp"
#include "evaluate.hpp"
#include "layers/init.hpp"
#include "layers/tree_nets.hpp"
#include "optim/averaging.hpp"
#include "optim/checkpoint.hpp"
#include "optim/early_stopping.hpp"
#include "optim/optimizer.hpp"
#include "optim/optimizer_set.hpp"
#include "synthetic.hpp"

using namespace tapenet;
using sentiment::Example;
using sentiment::Scores;
using examples::Policy;

namespace {

const char* kUsage = R"usage(usage:
  sentiment [options]                       train, then report dev and test accuracy
  sentiment predict --checkpoint FILE       label every phrase of each stdin line

training options (on --resume, those marked * default to the checkpoint's: given again,
those marked *= must equal it and the other * ones override it; the architecture comes
from the checkpoint):
  --data DIR          train.txt, dev.txt, test.txt in SST's PTB format (default: a built-in
                      synthetic treebank with negation and contrast)
  --model M           rnn | rntn | treelstm (default rntn)
  --labels L          fine: 5 classes (default) | binary: SST-2, a 2-class net trained on
                      the trees whose root is not neutral (0-1 negative, 3-4 positive,
                      neutral phrases add no loss), early stopping on dev root binary
                      accuracy, tested on the non-neutral test roots
  --leaf-tanh         rnn/rntn: a leaf's vector is tanh(word vector), as in CoreNLP
  --lowercase         lower-case the words (ASCII A-Z) of every split and of predict's input
  --word-dim E        treelstm: word vectors of size E (default: --dim); the leaf cell maps
                      them to the node size
  --leaf-cell C       treelstm: gated (default: c = σ(i)⊙tanh(u)) | linear (Tai et al.'s
                      code: c = W_c w + b_c, no input gate)
  --dim N             node vector size (default 25; treelstm 100)
  --epochs N        * maximum epochs (default 6 synthetic, 100 with --data)
  --patience N      * stop after N epochs without a better dev root accuracy (fine, or
                      binary with --labels binary; default 10)
  --batch N         * trees per minibatch (default 27)
  --optimizer O    *= adagrad | adam (default adagrad)
  --lr X            * learning rate (default adagrad 0.01, treelstm 0.05; adam 0.001)
  --dropout P       * dropout on node vectors before the classifier (default 0; treelstm 0.5)
  --input-dropout P * dropout on the elements of the word vectors (default 0)
  --root-weight W   * the root's loss term weighs W, every other node's 1 (default 1)
  --cell-dropout P  * treelstm: dropout on every cell's candidate u (default 0)
  --composition-dropout P * rnn/rntn: dropout on the children [a; b] of every composition (default 0)
  --word-init-std S   initial word vectors ~ N(0, S²) (default 0.1)
  --identity-init     rnn/rntn: W = [I + U(±r), I + U(±r)], r = 1/(2√d), as CoreNLP
                      (default: Glorot, layers/tree_nets.hpp)
  --adagrad-reset N * zero AdaGrad's sums of squares every N epochs (CoreNLP: 1;
                      default 0 = never)
  --min-count N       vocabulary: words seen fewer times become <unk> (default 1)
  --unk-replace P   * training only: each token of a word seen once in the training
                      trees becomes <unk> with probability P, so <unk> (every dev/test
                      word unseen in training) gets trained (default 0.5 with --data,
                      0 on the synthetic treebank)
  --word-dropout P  * training only: every token becomes <unk> with probability P (default 0)
  --embed-lr-scale S * the word vectors' update is S times the optimizer's (default 1)
  --embed-sgd LR   *= the word vectors take plain SGD steps of rate LR instead of the
                      optimizer's (Tai et al.'s code: 0.1); default 0 = the optimizer's
  --l2-words X      * L2 λ of the word vectors (default 1e-4)
  --l2-words-in-batch *= λ only on the vectors of the minibatch's words, as CoreNLP
                      (default: on the whole table every minibatch)
  --clip X          * clip the global gradient norm of each minibatch to X (default 0: off)
  --average B      *= evaluate dev and test with an exponential moving average of the
                      parameters, decay B per minibatch (e.g. 0.998; default 0: off)
  --threads N         threads for the minibatch chunks, evaluation and OpenBLAS (default: all cores)
  --seed N         *= initialisation, shuffling, dropout and synthetic data (default 1)
  --checkpoint FILE   save after every epoch (atomic .npz, plus FILE.vocab)
  --resume            continue from --checkpoint
  --metrics-out FILE  final figures as JSON
  --train-size N   *= synthetic treebank: training trees (default 2000); dev and test
                      get n/6 each, between 50 and 500

predict reads one tree per line on stdin: a bracketed tree "(3 (2 the) (3 film))" (its
labels are shown as gold) or a plain tokenised sentence, binarised right-branching
(w1 (w2 (... (wn-1 wn)))) by data::binarize_sentence.)usage";

const char* const kFineClassNames[] = {"very negative", "negative", "neutral", "positive", "very positive"};
const char* const kBinaryClassNames[] = {"negative", "positive"};

const char* class_name(data::LabelMode mode, int c) {
  return mode == data::LabelMode::Fine ? kFineClassNames[c] : kBinaryClassNames[c];
}

TreeModel parse_model(const std::string& name) {
  if (name == "rnn") return TreeModel::RNN;
  if (name == "rntn") return TreeModel::RNTN;
  if (name == "treelstm") return TreeModel::TreeLSTM;
  throw std::invalid_argument("--model must be rnn, rntn or treelstm, got '" + name + "'");
}

data::LabelMode parse_labels(const std::string& name) {
  if (name == "fine") return data::LabelMode::Fine;
  if (name == "binary") return data::LabelMode::Binary;
  throw std::invalid_argument("--labels must be fine or binary, got '" + name + "'");
}

LeafCell parse_leaf_cell(const std::string& name) {
  if (name == "gated") return LeafCell::Gated;
  if (name == "linear") return LeafCell::Linear;
  throw std::invalid_argument("--leaf-cell must be gated or linear, got '" + name + "'");
}

std::string labels_flag(data::LabelMode mode) { return mode == data::LabelMode::Fine ? "fine" : "binary"; }

std::string model_flag(TreeModel m) {
  switch (m) {
    case TreeModel::RNN: return "rnn";
    case TreeModel::RNTN: return "rntn";
    case TreeModel::TreeLSTM: return "treelstm";
  }
  return "?";
}

std::string vocab_path(const std::string& checkpoint) { return checkpoint + ".vocab"; }

// ---- checkpoint layout (examples/common/run_checkpoint.hpp) ------------------------------
// param/<name>                 current parameters (save_checkpoint)
// state/<optimizer keys>       the optimizer's state_dict ("step", "lr", "<param>/sum" ...);
//                              with --embed-sgd also the word vectors' SGD, "embed_sgd/{step,lr}"
// state/trainer/{best_dev,best_epoch,bad_epochs}, state/best/<name>   the EarlyStopping
//                              "best": the parameters of the best dev epoch
// state/best_binary/<name>     fine-grained nets: the BestSnapshot of the best dev root
//                              binary epoch, with trainer/{best_binary_dev,best_binary_epoch}
// state/average/...            with --average: the moving average's state_dict
// run/config                   the architecture and the options marked * in the usage, typed
// run/loop                     the loop's position (epochs done)
// FILE.vocab                   the vocabulary, one word per line (data::Vocab::save)

bool is_trainer_key(const std::string& key) {
  for (const char* prefix : {"trainer/", "best/", "best_binary/", "average/"})
    if (key.rfind(prefix, 0) == 0) return true;
  return false;
}

Tensor<float> scalar(double v) { return full<float>({1}, static_cast<float>(v)); }

// What defines the net's shape and function: fixed by the checkpoint.
struct NetConfig {
  TreeModel model = TreeModel::RNTN;
  std::size_t dim = 25;
  data::LabelMode labels = data::LabelMode::Fine;
  bool leaf_tanh = false;
  LeafCell leaf_cell = LeafCell::Gated;
  std::size_t word_dim = 0;  // 0: dim
  bool lowercase = false;    // the words are lower-cased before the vocabulary lookup

  std::size_t classes() const { return static_cast<std::size_t>(data::num_classes(labels)); }
  std::string describe() const {
    return std::string(tree_model_name(model)) + " d=" + std::to_string(dim) + ", " + labels_flag(labels) +
           " labels" + (leaf_tanh ? ", leaf tanh" : "") + (leaf_cell == LeafCell::Linear ? ", linear leaf cell" : "") +
           (word_dim ? ", word vectors of " + std::to_string(word_dim) : "") + (lowercase ? ", lower-cased words" : "");
  }
  TreeNetOptions net_options() const {
    return TreeNetOptions().with_leaf_tanh(leaf_tanh).with_leaf_cell(leaf_cell).with_word_dim(word_dim);
  }
};

// A run resumes on the data it was trained on: SST (--data) or the synthetic treebank.
void check_data_source(examples::RunConfig& config, bool synthetic) {
  if (auto saved = config.saved("synthetic"); saved && saved->as_flag() != synthetic)
    throw std::invalid_argument(synthetic ? "the checkpoint was trained with --data: give --data DIR again"
                                          : "the checkpoint was trained on the synthetic treebank: resume without --data");
  config.set("synthetic", examples::ConfigValue::flag(synthetic));
}

data::Vocab load_vocab(const std::string& checkpoint) {
  std::ifstream probe(vocab_path(checkpoint));
  if (!probe) throw std::runtime_error(vocab_path(checkpoint) + ": cannot open the vocabulary saved with the checkpoint");
  return data::Vocab::load(vocab_path(checkpoint));
}

void save_vocab(const data::Vocab& vocab, const std::string& checkpoint) {
  const std::string path = vocab_path(checkpoint), tmp = path + ".tmp";
  vocab.save(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

std::string pct(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << v << "%";
  return s.str();
}

// The "average/..." entries of a checkpoint go to `average`; both or neither must be there.
void load_average_state(const std::map<std::string, Tensor<float>>& state, ParameterAverage<float>* average,
                        const std::string& path) {
  ParameterAverage<float>::StateDict saved;
  for (const auto& [key, value] : state)
    if (key.rfind("average/", 0) == 0) saved[key.substr(8)] = value;
  if (saved.empty() != (average == nullptr))
    throw std::invalid_argument(path + (average ? " holds no parameter average: resume without --average"
                                                : " was trained with --average: give it again with --resume"));
  if (average) average->load_state_dict(saved);
}

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

NetConfig net_config(const examples::Args& args, examples::RunConfig& c);

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

struct Splits {
  std::vector<data::Tree> train, dev, test;
  std::string source;
};

// In binary mode every split keeps only its trees with a non-neutral root (SST-2).
Splits load_splits(const examples::Args& args, examples::RunConfig& settings, std::uint64_t seed,
                   data::LabelMode labels) {
  Splits s;
  if (args.has("data")) {
    if (args.has("train-size")) throw std::invalid_argument("--train-size is for the synthetic treebank (no --data)");
    const std::string dir = args.str("data");
    s.train = data::read_trees(dir + "/train.txt");
    s.dev = data::read_trees(dir + "/dev.txt");
    s.test = data::read_trees(dir + "/test.txt");
    s.source = dir;
  } else {
    const std::size_t n = settings.count("train-size", 2000);
    const std::size_t held_out = std::clamp<std::size_t>(n / 6, 50, 500);  // dev and test each
    sentiment::SyntheticTreebank bank = sentiment::make_synthetic_treebank(n, held_out, held_out, seed);
    s.train = std::move(bank.train);
    s.dev = std::move(bank.dev);
    s.test = std::move(bank.test);
    s.source = "synthetic";
  }
  if (labels == data::LabelMode::Binary)
    for (auto* split : {&s.train, &s.dev, &s.test}) *split = data::binary_root_subset(std::move(*split));
  return s;
}

// The synthetic treebank's hand-written probes (negation, contrast): predicted root / gold.
void print_probes(const TreeNet<float>& net, const data::Vocab& vocab, data::LabelMode labels, int threads) {
  const std::vector<Example> probes = sentiment::make_examples(sentiment::synthetic_probes(), vocab);
  const auto probs = sentiment::node_probabilities(net, probes, threads);
  std::cout << "probes (predicted root / gold" << (labels == data::LabelMode::Binary ? ", neutral ones skipped" : "")
            << "):\n";
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const data::Tree& t = probes[i].tree;
    const int gold = data::mode_label(t.root_label(), labels);
    if (gold == data::kDroppedLabel) continue;
    const int c = argmax_rows(probs[i])[static_cast<std::size_t>(t.root)];
    std::string text;
    for (const auto& w : t.words()) text += (text.empty() ? "" : " ") + w;
    std::cout << "  " << (c == gold ? "ok " : "BAD") << " " << c << " / " << gold << "  " << text << "\n";
  }
}

// The architecture: from the flags, or on --resume and predict from the checkpoint, where a
// flag given again must agree (the shared policy, examples/common/run_config.hpp).
NetConfig net_config(const examples::Args& args, examples::RunConfig& c) {
  NetConfig config;
  config.model = parse_model(c.choice("model", "rntn", {"rnn", "rntn", "treelstm"}));
  const bool lstm = config.model == TreeModel::TreeLSTM;
  const long dim = c.integer("dim", lstm ? 100 : 25, Policy::Fixed);
  if (dim < 1 || dim > 4096) throw std::invalid_argument("--dim must be in 1..4096");
  config.dim = static_cast<std::size_t>(dim);
  config.labels = parse_labels(c.choice("labels", "fine", {"fine", "binary"}));
  config.leaf_tanh = c.flag("leaf-tanh");
  if (config.leaf_tanh && lstm) throw std::invalid_argument("--leaf-tanh is for --model rnn or rntn");
  config.leaf_cell = parse_leaf_cell(c.choice("leaf-cell", "gated", {"gated", "linear"}));
  if (args.has("leaf-cell") && !lstm) throw std::invalid_argument("--leaf-cell is for --model treelstm");
  const long word_dim = c.integer("word-dim", 0, Policy::Fixed);
  if (word_dim < 0 || word_dim > 4096) throw std::invalid_argument("--word-dim must be in 1..4096");
  if (args.has("word-dim") && !lstm) throw std::invalid_argument("--word-dim is for --model treelstm");
  config.word_dim = static_cast<std::size_t>(word_dim) == config.dim ? 0 : static_cast<std::size_t>(word_dim);
  config.lowercase = c.flag("lowercase");
  return config;
}

// The training options (everything but the architecture), parsed and checked.
struct TrainOptions {
  std::string optimizer_name;  // adagrad | adam
  bool adam = false;
  double lr = 0, dropout = 0, input_dropout = 0, cell_dropout = 0, composition_dropout = 0, word_init_std = 0;
  int epochs = 0, patience = 0;
  std::size_t batch = 0;
  long min_count = 0;
  int threads = 0, used_threads = 0;  // threads: 0 = all cores
  double unk_replace = 0, word_dropout = 0, embed_lr_scale = 1, l2_words = 0, clip = 0, embed_sgd = 0;
  int adagrad_reset = 0;
  double average_decay = 0;
  double root_weight = 1;
  bool l2_words_in_batch = false;  // CoreNLP: only the minibatch's word vectors are regularised
  bool identity_init = false;  // rnn/rntn: CoreNLP's W initialisation
};

// The options that shape the run's trajectory come from `settings` (the checkpoint's on
// --resume, unless given again); those used only at initialisation, from the command line.
TrainOptions train_options(const examples::Args& args, examples::RunConfig& settings, const NetConfig& config,
                           bool synthetic) {
  const bool is_lstm = config.model == TreeModel::TreeLSTM;
  TrainOptions o;
  o.identity_init = args.has("identity-init");
  o.optimizer_name = settings.choice("optimizer", "adagrad", {"adagrad", "adam"});
  o.adam = o.optimizer_name == "adam";
  o.lr = settings.number("lr", o.adam ? 1e-3 : is_lstm ? 0.05 : 0.01);
  o.dropout = settings.number("dropout", is_lstm ? 0.5 : 0.0);
  o.input_dropout = settings.number("input-dropout", 0.0);
  o.root_weight = settings.number("root-weight", 1.0);
  if (!(o.root_weight > 0 && std::isfinite(o.root_weight))) throw std::invalid_argument("--root-weight must be positive");
  o.cell_dropout = settings.number("cell-dropout", 0.0);
  if (o.cell_dropout != 0 && !is_lstm) throw std::invalid_argument("--cell-dropout is for --model treelstm");
  o.composition_dropout = settings.number("composition-dropout", 0.0);
  if (o.composition_dropout != 0 && is_lstm) throw std::invalid_argument("--composition-dropout is for --model rnn or rntn");
  o.word_init_std = args.num("word-init-std", TreeNetOptions().word_init_std);
  if (!(o.word_init_std > 0)) throw std::invalid_argument("--word-init-std must be positive");
  o.epochs = static_cast<int>(settings.integer("epochs", synthetic ? 6 : 100));
  o.patience = static_cast<int>(settings.integer("patience", 10));
  const long batch_arg = settings.integer("batch", 27);
  o.min_count = args.integer("min-count", 1);
  o.batch = static_cast<std::size_t>(std::max(0L, batch_arg));
  o.threads = static_cast<int>(args.integer("threads", 0));
  o.used_threads = o.threads > 0 ? o.threads : default_thread_count();
  if (o.batch == 0 || o.epochs < 0 || o.patience < 1 || o.threads < 0 || o.min_count < 0)
    throw std::invalid_argument("--batch and --patience must be positive; --epochs, --threads, --min-count not negative");
  o.unk_replace = settings.number("unk-replace", synthetic ? 0.0 : 0.5);
  o.word_dropout = settings.number("word-dropout", 0.0);
  if (o.unk_replace < 0 || o.unk_replace > 1 || o.word_dropout < 0 || o.word_dropout >= 1)
    throw std::invalid_argument("--unk-replace must be in [0, 1], --word-dropout in [0, 1)");
  o.embed_lr_scale = settings.number("embed-lr-scale", 1.0);
  o.l2_words = settings.number("l2-words", 1e-4);
  o.l2_words_in_batch = settings.flag("l2-words-in-batch");
  o.clip = settings.number("clip", 0.0);
  if (o.embed_lr_scale < 0 || o.l2_words < 0 || o.clip < 0)
    throw std::invalid_argument("--embed-lr-scale, --l2-words and --clip must not be negative");
  // Tai et al.'s Tree-LSTM code updates the word vectors by plain SGD (θ -= 0.1·g) and the
  // rest by AdaGrad. AdaGrad gives a word seen once as large a first step as a frequent
  // one; under SGD a word moves in proportion to how often it is used.
  o.embed_sgd = settings.number("embed-sgd", 0.0, Policy::Fixed);  // decides what the optimizer holds
  if (o.embed_sgd < 0) throw std::invalid_argument("--embed-sgd must not be negative");
  if (o.embed_sgd > 0 && o.embed_lr_scale != 1.0) throw std::invalid_argument("--embed-sgd and --embed-lr-scale exclude each other");
  o.adagrad_reset = static_cast<int>(settings.integer("adagrad-reset", 0));
  if (o.adagrad_reset < 0 || (o.adagrad_reset > 0 && o.adam)) throw std::invalid_argument("--adagrad-reset needs adagrad and N >= 0");
  o.average_decay = settings.number("average", 0.0, Policy::Fixed);
  if (!(o.average_decay >= 0 && o.average_decay < 1)) throw std::invalid_argument("--average must be in [0, 1)");
  return o;
}

// The test and dev figures of the selected epoch (and, for a fine-grained net, of the best
// dev-binary epoch). A binary net has no fine-grained figures: those keys are left out.
void add_score_metrics(examples::Metrics& metrics, data::LabelMode labels, const Scores& dv, const Scores& ts,
                       const Scores& binary_dv, const Scores& binary_ts, int binary_epoch) {
  if (labels == data::LabelMode::Fine) {
    metrics.set("test_root_fine", ts.root_fine);
    metrics.set("test_root_binary", ts.root_binary);
    metrics.set("test_all_fine", ts.all_fine);
    metrics.set("test_root_binary_strict", ts.root_binary_strict);
    metrics.set("dev_root_fine", dv.root_fine);
    metrics.set("dev_root_binary", dv.root_binary);
    metrics.set("dev_all_fine", dv.all_fine);
    metrics.set("binary_selected_test_root_binary", binary_ts.root_binary);
    metrics.set("binary_selected_dev_root_binary", binary_dv.root_binary);
    metrics.set("binary_selected_epoch", binary_epoch);
  } else {
    metrics.set("test_root_binary", ts.root_binary);
    metrics.set("test_all_binary", ts.all_binary);
    metrics.set("dev_root_binary", dv.root_binary);
    metrics.set("dev_all_binary", dv.all_binary);
  }
  metrics.set("test_trees", static_cast<double>(labels == data::LabelMode::Fine ? ts.trees : ts.binary_trees));
}

// What was trained, and how.
void add_option_metrics(examples::Metrics& metrics, const NetConfig& config, const TrainOptions& opts) {
  metrics.set("labels", labels_flag(config.labels));
  metrics.set("leaf_tanh", config.leaf_tanh ? 1.0 : 0.0);
  metrics.set("leaf_cell", config.leaf_cell == LeafCell::Gated ? "gated" : "linear");
  metrics.set("model", model_flag(config.model));
  metrics.set("dim", static_cast<double>(config.dim));
  metrics.set("lowercase", config.lowercase ? 1.0 : 0.0);
  metrics.set("word_dim", static_cast<double>(config.word_dim ? config.word_dim : config.dim));
  metrics.set("optimizer", opts.optimizer_name);
  metrics.set("lr", opts.lr);
  metrics.set("batch", static_cast<double>(opts.batch));
  metrics.set("dropout", opts.dropout);
  metrics.set("input_dropout", opts.input_dropout);
  metrics.set("cell_dropout", opts.cell_dropout);
  metrics.set("composition_dropout", opts.composition_dropout);
  metrics.set("root_weight", opts.root_weight);
  metrics.set("identity_init", opts.identity_init ? 1.0 : 0.0);
  metrics.set("adagrad_reset", opts.adagrad_reset);
  metrics.set("unk_replace", opts.unk_replace);
  metrics.set("word_dropout", opts.word_dropout);
  metrics.set("embed_lr_scale", opts.embed_lr_scale);
  metrics.set("embed_sgd", opts.embed_sgd);
  metrics.set("l2_words", opts.l2_words);
  metrics.set("l2_words_in_batch", opts.l2_words_in_batch ? 1.0 : 0.0);
  metrics.set("clip", opts.clip);
  metrics.set("average", opts.average_decay);
}

// L2 λ of a parameter class. RNN/RNTN: Stanford CoreNLP's RNTN defaults
// (SentimentTrainOptions: regTransformMatrix and regTransformTensor 1e-3, regClassification
// 1e-4; biases unregularised, CoreNLP drops the bias column). Tree-LSTM: Tai et al.'s 1e-4
// on every weight matrix. The word vectors: --l2-words.
double l2_lambda(ParamClass c, const TrainOptions& opts, bool is_lstm) {
  switch (c) {
    case ParamClass::Composition: return is_lstm ? 1e-4 : 1e-3;
    case ParamClass::Classifier: return 1e-4;
    case ParamClass::WordVectors: return opts.l2_words;
    case ParamClass::Bias: return 0;
  }
  return 0;
}

// The run's optimizer: one group per run of parameters of one class (in parameters() order,
// the order clipping sums in), each with its class's λ; the word vectors' group also has
// --embed-lr-scale and, with --l2-words-in-batch, λ on the minibatch's rows only. With
// --embed-sgd the word vectors have their own plain SGD (Tai et al.'s code), unclipped.
struct TrainingOptimizer {
  OptimizerSet<float> set;
  Optimizer<float>* words = nullptr;  // the member that holds the word vectors
  std::size_t words_group = 0;        // their group in it
};

TrainingOptimizer make_optimizer(TreeNet<float>& net, const TrainOptions& opts, bool is_lstm) {
  ParamGroups<float> groups, word_groups;
  ParamClass last = ParamClass::WordVectors;
  for (Parameter<float>* p : net.parameters()) {
    const ParamClass c = net.parameter_class(*p);
    ParamGroups<float>& target = c == ParamClass::WordVectors && opts.embed_sgd > 0 ? word_groups : groups;
    if (target.empty() || c != last || c == ParamClass::WordVectors)
      target.push_back(ParamGroup<float>().with_weight_decay(l2_lambda(c, opts, is_lstm)));
    target.back().params.push_back(p);
    if (c == ParamClass::WordVectors)
      target.back().with_lr_scale(opts.embed_lr_scale).with_decay_active_rows_only(opts.l2_words_in_batch);
    last = c;
  }
  std::unique_ptr<Optimizer<float>> main;
  if (opts.adam)
    main = std::make_unique<Adam<float>>(groups, AdamOptions().with_lr(opts.lr));
  else  // CoreNLP's AdaGrad: θ -= lr·g / (√Σg² + 1e-3)
    main = std::make_unique<AdaGrad<float>>(groups, AdaGradOptions().with_lr(opts.lr).with_eps(1e-3));
  if (opts.clip > 0) main->set_clip_norm(static_cast<float>(opts.clip));
  TrainingOptimizer out;
  out.set.add("", std::move(main));
  if (!word_groups.empty())
    out.set.add("embed_sgd/", std::make_unique<SGD<float>>(word_groups, SGDOptions().with_lr(opts.embed_sgd)));
  out.words = &out.set[out.set.size() - 1];
  for (std::size_t g = 0; g < out.words->groups().size(); ++g)
    for (const Parameter<float>* p : out.words->groups()[g].params)
      if (p == &net.embedding.table) out.words_group = g;
  return out;
}

std::vector<std::int64_t> concatenated(const std::vector<std::vector<std::int64_t>>& lists) {
  std::vector<std::int64_t> all;
  for (const auto& list : lists) all.insert(all.end(), list.begin(), list.end());
  return all;
}

// One minibatch of n trees whose summed gradients are in the parameters' grad:
// g = (1/n) Σ_trees ∂loss/∂θ + λ_class·θ (CoreNLP's batch gradient: the groups' weight
// decay), the optimizer's step, then the average.
void update_parameters(TreeNet<float>& net, TrainingOptimizer& optimizer, ParameterAverage<float>* average,
                       std::size_t n, const std::vector<std::vector<std::int64_t>>& tree_words) {
  for (auto* p : net.parameters()) p->grad *= 1.0f / static_cast<float>(n);
  if (optimizer.words->groups()[optimizer.words_group].decay_active_rows_only)
    optimizer.words->set_active_rows(optimizer.words_group, concatenated(tree_words));
  optimizer.set.step();
  if (average) average->update();
}

// The minibatches of one epoch: a fresh shuffle (a function of seed and epoch), then each
// batch through parallel_batch (one tape per chunk) and update_parameters.
struct BatchTrainer {
  TreeNet<float>& net;
  TrainingOptimizer& optimizer;
  ParameterAverage<float>* average;
  const TrainOptions& opts;
  const data::WordReplacement& replace_words;
  std::uint64_t seed;
  data::LabelMode labels;
  const std::vector<Example>& train;
  std::vector<std::size_t> order;
  double loss_sum = 0;  // over the epoch's batches so far
  std::size_t trees = 0;

  // Returns the number of minibatches of `epoch`.
  std::size_t start_epoch(int epoch) {
    // CoreNLP resets AdaGrad's history every adagradResetFrequency epochs.
    if (opts.adagrad_reset > 0 && epoch > 0 && epoch % opts.adagrad_reset == 0) optimizer.set.reset_state();
    net.train();
    order.resize(train.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 shuffle_rng(data::mix_seed(seed, static_cast<std::uint64_t>(epoch)));
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    loss_sum = 0;
    trees = 0;
    return (train.size() + opts.batch - 1) / opts.batch;
  }

  // Minibatch `batch` of `epoch`: Σ over its trees of Σ over their nodes of the cross-entropy.
  examples::StepResult train_batch(int epoch, std::size_t batch) {
    const std::size_t b0 = batch * opts.batch, n = std::min(opts.batch, order.size() - b0);
    ParallelOptions parallel;
    parallel.threads = opts.threads;
    optimizer.set.zero_grad();
    std::vector<std::vector<std::int64_t>> tree_words(n);  // each task writes its own entry
    const float loss = parallel_batch<float>(
        n,
        [&](Tape<float>& tape, std::size_t i) {
          const Example& ex = train[order[b0 + i]];
          std::mt19937_64 drop_rng(data::mix_seed(seed, static_cast<std::uint64_t>(epoch), b0 + i + 1));
          tree_words[i] = replace_words(ex.word_ids, static_cast<std::uint64_t>(epoch), b0 + i);
          return net.forward(tape, ex.tree, tree_words[i], labels, &drop_rng).loss;
        },
        parallel);
    update_parameters(net, optimizer, average, n, tree_words);
    loss_sum += loss;
    trees += n;
    return {loss, double(n)};
  }
};

// Early stopping keeps the best epoch by the selection figure (root fine-grained, or root
// binary for a binary net). A fine-grained net also keeps its best epoch by dev root
// binary: the SST-2 task selected on its own dev figure.
struct Selection {
  EarlyStopping<float> stopping;
  BestSnapshot<float> best_binary;
  bool fine_net;

  Selection(const ParameterList<float>& params, int patience, bool fine)
      : stopping(params, patience, "best"), best_binary(params, "best_binary"), fine_net(fine) {}

  // Whether `dev` is the best epoch so far by the selection figure.
  bool offer(const Scores& dev, int epoch) {
    const bool better = stopping.offer(dev.selection(), epoch);
    if (fine_net) best_binary.offer(dev.root_binary, epoch);
    return better;
  }
  void save(std::map<std::string, Tensor<float>>& state) const {
    stopping.save(state);
    if (fine_net) best_binary.save(state);
  }
  void load(const std::map<std::string, Tensor<float>>& state, const std::string& path) {
    stopping.load(state, path);
    if (fine_net && best_binary.saved_in(state))
      best_binary.load(state, path);
    else  // a checkpoint from before best_binary: start from the best epoch
      best_binary.start_from(stopping.best());
  }
};

// Loads the parameters, the selection, the optimizer's and the average's state from
// `checkpoint`, and says so with the epochs it had done.
void resume_from(const std::string& checkpoint, const ParameterList<float>& params, const TrainOptions& opts,
                 TrainingOptimizer& optimizer, Selection& selection, ParameterAverage<float>* average,
                 std::size_t epochs_done) {
  auto state = load_checkpoint(checkpoint, params);
  selection.load(state, checkpoint);
  Optimizer<float>::StateDict opt_state;
  for (auto& [k, v] : state)
    if (!is_trainer_key(k)) opt_state[k] = v;
  optimizer.set.load_state_dict(opt_state);
  optimizer.set[0].set_lr(static_cast<float>(opts.lr));  // the checkpoint's, or a given --lr that overrides it
  load_average_state(state, average, checkpoint);
  std::cout << "resumed from " << checkpoint << " after epoch " << epochs_done << " (best dev root "
            << pct(selection.stopping.best().score()) << " at epoch " << selection.stopping.best().epoch() << ")\n";
}

// The dev figures of the selected epoch and the test figures (of a fine-grained net also
// those of its best dev-binary epoch).
void print_test_results(data::LabelMode labels, int best_epoch, const Scores& dv, const Scores& ts, int binary_epoch,
                        const Scores& binary_dv, const Scores& binary_ts) {
  std::cout << "best dev epoch " << best_epoch << ": dev " << dv.summary() << "\n";
  if (labels == data::LabelMode::Fine)
    std::cout << "test (" << ts.trees << " trees, " << ts.binary_trees << " non-neutral): root fine-grained "
              << pct(ts.root_fine) << ", root binary " << pct(ts.root_binary) << " (strict argmax "
              << pct(ts.root_binary_strict) << "), all phrases fine-grained " << pct(ts.all_fine) << "\n"
              << "best dev binary epoch " << binary_epoch << ": dev root binary " << pct(binary_dv.root_binary)
              << ", test root binary " << pct(binary_ts.root_binary) << "\n";
  else
    std::cout << "test (" << ts.binary_trees << " non-neutral trees, binary net): root binary " << pct(ts.root_binary)
              << ", all non-neutral phrases " << pct(ts.all_binary) << "\n";
}

// One line: the net, the data and every training option.
void print_header(const NetConfig& config, std::size_t parameters, const Splits& splits, std::size_t vocab_size,
                  const TrainOptions& opts) {
  std::cout << "sentiment: " << config.describe() << ", " << parameters << " parameters; data " << splits.source
            << ": " << splits.train.size() << "/" << splits.dev.size() << "/" << splits.test.size()
            << " trees, vocabulary " << vocab_size << "; " << opts.optimizer_name << " lr " << opts.lr << ", batch "
            << opts.batch << ", dropout " << opts.dropout << " (input " << opts.input_dropout << ", cell "
            << opts.cell_dropout << ", composition " << opts.composition_dropout << ")"
            << ", unk-replace " << opts.unk_replace << ", word-dropout " << opts.word_dropout << ", embed-lr-scale "
            << opts.embed_lr_scale << ", embed-sgd " << opts.embed_sgd << ", l2-words " << opts.l2_words
            << (opts.l2_words_in_batch ? " (batch words)" : "") << ", clip "
            << opts.clip << ", average " << opts.average_decay << ", " << opts.used_threads << " thread(s)\n";
}

// One training run's pieces, built from the options; run() wires them into the shared loop.
struct TrainRun {
  const examples::Args& args;
  examples::RunConfig& run_config;
  const NetConfig& config;
  const TrainOptions& opts;
  const std::vector<Example>& train;
  const std::vector<Example>& dev;
  TreeNet<float>& net;
  TrainingOptimizer& optimizer;
  ParameterAverage<float>* average;
  Selection& selection;
  BatchTrainer& trainer;
  std::string checkpoint;

  Scores last_dev;
  std::chrono::steady_clock::time_point epoch_start;
  double epoch_train_seconds = 0;

  void save(const examples::LoopState& s) const {
    if (checkpoint.empty()) return;
    Optimizer<float>::StateDict state = optimizer.set.state_dict();
    selection.save(state);
    if (average)
      for (auto& [key, value] : average->state_dict()) state["average/" + key] = value;
    examples::save_run(checkpoint, net.parameters(), state, examples::RunRecord{run_config.values(), s, {}});
  }

  // Dev with the averaged parameters swapped in; after_step swaps them out again, after the
  // loop has offered the score to the selection (which keeps the parameters it sees).
  examples::Evaluation evaluate(const examples::LoopState& s) {
    epoch_train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    net.eval();
    if (average) average->swap();  // the averaged parameters in, the trained ones out
    last_dev = sentiment::evaluate(net, dev, opts.threads);
    if (selection.fine_net) selection.best_binary.offer(last_dev.root_binary, static_cast<int>(s.epoch));
    return {last_dev.selection()};
  }

  void after_evaluation(const examples::LoopState& s, const examples::Evaluation& e) const {
    if (average) average->swap();
    std::cout << "epoch " << s.epoch << ": train loss/tree " << std::setprecision(4)
              << trainer.loss_sum / double(train.size()) << "  dev " << last_dev.summary()
              << (e.improved ? "  * best" : "") << "  [" << std::setprecision(3)
              << double(train.size()) / epoch_train_seconds << " trees/s]" << std::endl;
  }

  std::string status(const examples::LoopState& s) const {
    const double best = selection.stopping.best().score();
    std::ostringstream text;
    text << "epoch " << s.epoch + (s.batch ? 1 : 0) << "/" << opts.epochs << "  loss/tree " << std::setprecision(4)
         << trainer.loss_sum / double(std::max<std::size_t>(1, trainer.trees)) << "  best dev "
         << (best < 0 ? std::string("-") : pct(best));
    return text.str();
  }

  examples::LoopOutcome run(examples::LoopState& state) {
    examples::LoopOptions lo;
    lo.epochs = static_cast<std::size_t>(opts.epochs);
    lo.selection = &selection.stopping;
    lo.unit = "trees";
    lo.total_items = double((lo.epochs - std::min(lo.epochs, state.epoch)) * train.size());
    examples::LoopHooks hooks;
    hooks.start_epoch = [this](std::size_t e) {
      epoch_start = std::chrono::steady_clock::now();
      return trainer.start_epoch(static_cast<int>(e));
    };
    hooks.train_batch = [this](const examples::LoopState& s) {
      return trainer.train_batch(static_cast<int>(s.epoch), s.batch);
    };
    hooks.status = [this](const examples::LoopState& s) { return status(s); };
    hooks.evaluate = [this](const examples::LoopState& s) { return evaluate(s); };
    hooks.after_step = [this](const examples::LoopState& s, const examples::StepResult&,
                              const examples::Evaluation* e) {
      if (e) after_evaluation(s, *e);
    };
    hooks.save = [this](const examples::LoopState& s) { save(s); };
    return examples::run_training_loop(lo, hooks, state);
  }
};

int run_train(int argc, char** argv) {
  examples::Args args(argc, argv,
                      {"data", "model", "dim", "epochs", "patience", "batch", "optimizer", "lr", "dropout", "input-dropout", "root-weight", "cell-dropout", "composition-dropout", "min-count",
                       "threads", "seed", "checkpoint", "resume", "metrics-out", "train-size", "identity-init",
                       "adagrad-reset", "unk-replace", "word-dropout", "embed-lr-scale", "embed-sgd", "l2-words", "l2-words-in-batch", "clip", "labels",
                       "leaf-tanh", "leaf-cell", "word-dim", "word-init-std", "average", "lowercase"},
                      {"resume", "identity-init", "leaf-tanh", "lowercase", "l2-words-in-batch"}, kUsage);
  const auto wall_start = std::chrono::steady_clock::now();
  auto wall_seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count(); };
  const bool synthetic = !args.has("data");
  const std::string checkpoint = args.str("checkpoint");
  const bool resume = args.has("resume");
  if (resume && checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");

  examples::RunRecord saved;
  if (resume) saved = examples::read_run_record(checkpoint);
  examples::RunConfig run_config(args, resume ? &saved.config : nullptr);
  const NetConfig config = net_config(args, run_config);
  check_data_source(run_config, synthetic);
  const long seed_arg = run_config.integer("seed", 1, Policy::Fixed);  // it also makes the synthetic treebank
  if (seed_arg < 0) throw std::invalid_argument("--seed must be a whole number >= 0");
  const auto seed = static_cast<std::uint64_t>(seed_arg);
  const TrainOptions opts = train_options(args, run_config, config, synthetic);
  // --threads bounds OpenBLAS too: the optimizer's update of a large table runs on its threads.
  openblas_set_num_threads(opts.used_threads);
  const data::LabelMode labels = config.labels;
  const bool is_lstm = config.model == TreeModel::TreeLSTM;

  // Data and vocabulary (from the training split, or the one saved with the checkpoint).
  Splits splits = load_splits(args, run_config, seed, labels);
  if (config.lowercase)
    for (auto* split : {&splits.train, &splits.dev, &splits.test})
      for (data::Tree& tree : *split) data::lowercase_words(tree);
  if (splits.train.empty() || splits.dev.empty())
    throw std::invalid_argument("no training or dev tree has a non-neutral root: --labels binary needs some");
  const data::Vocab vocab = resume ? load_vocab(checkpoint)
                                   : data::Vocab::build(data::count_words(splits.train),
                                                        static_cast<std::size_t>(opts.min_count));
  const std::vector<Example> train = sentiment::make_examples(splits.train, vocab);
  const std::vector<Example> dev = sentiment::make_examples(splits.dev, vocab);
  const std::vector<Example> test = sentiment::make_examples(splits.test, vocab);

  // Training-time word replacement by <unk>. With --min-count 1 no training token is <unk>,
  // so without it the <unk> row (every dev/test word unseen in training: 6 % of SST's
  // dev/test tokens, 60 % of their sentences) would only decay under L2 (to a zero vector).
  // Hence on by default for real data; the synthetic treebank has no unseen words.
  std::vector<std::size_t> train_counts(vocab.size(), 0);
  for (const Example& ex : train) data::WordReplacement::add_counts(train_counts, ex.word_ids);
  const data::WordReplacement replace_words(std::move(train_counts), opts.unk_replace, opts.word_dropout, seed);

  // Model and optimizer (make_optimizer: the L2 λ per parameter class).
  std::mt19937_64 init_rng(seed);
  TreeNet<float> net(vocab.size(), config.dim, config.classes(), config.model, init_rng,
                     config.net_options()
                         .with_dropout(opts.dropout)
                         .with_input_dropout(opts.input_dropout)
                         .with_cell_dropout(opts.cell_dropout)
                         .with_composition_dropout(opts.composition_dropout)
                         .with_root_weight(opts.root_weight)
                         .with_word_init_std(opts.word_init_std));
  if (opts.identity_init && !is_lstm && !resume) {
    std::mt19937_64 identity_rng(data::mix_seed(seed, 0x1D));
    net.W.value = init::identity_blocks<float>(config.dim, 2, identity_rng);
  }
  const ParameterList<float> params = net.parameters();
  TrainingOptimizer optimizer = make_optimizer(net, opts, is_lstm);
  // Polyak averaging: dev selection, the kept best parameters and test all use the average.
  std::unique_ptr<ParameterAverage<float>> average;
  if (opts.average_decay > 0) average = std::make_unique<ParameterAverage<float>>(params, opts.average_decay);

  Selection selection(params, opts.patience, labels == data::LabelMode::Fine);
  const EarlyStopping<float>& stopping = selection.stopping;
  examples::LoopState loop;
  if (resume) {
    loop = saved.loop;
    resume_from(checkpoint, params, opts, optimizer, selection, average.get(), loop.epoch);
  } else if (!checkpoint.empty()) {
    save_vocab(vocab, checkpoint);
  }
  const std::size_t start_epoch = loop.epoch;

  print_header(config, net.parameter_count(), splits, vocab.size(), opts);
  if (!resume) {
    net.eval();
    const Scores s = sentiment::evaluate(net, dev, opts.threads);
    std::cout << "epoch 0 (untrained): dev " << s.summary() << "\n";
  }

  BatchTrainer trainer{net, optimizer, average.get(), opts, replace_words, seed, labels, train, {}, 0, 0};
  TrainRun run{args, run_config, config, opts, train, dev, net, optimizer, average.get(), selection, trainer, checkpoint,
               {}, {}, 0};
  const examples::LoopOutcome outcome = run.run(loop);
  if (stopping.stop())
    std::cout << "early stop: no better dev root " << labels_flag(labels) << " accuracy for " << opts.patience << " epochs\n";

  // Test once, with the parameters of the best dev epoch; the binary figure once more with
  // those of the best dev binary epoch.
  net.eval();
  Scores binary_dv, binary_ts;
  if (selection.fine_net) {
    selection.best_binary.restore();
    binary_dv = sentiment::evaluate(net, dev, opts.threads);
    binary_ts = sentiment::evaluate(net, test, opts.threads);
  }
  stopping.best().restore();
  const Scores dv = sentiment::evaluate(net, dev, opts.threads);
  const Scores ts = sentiment::evaluate(net, test, opts.threads);
  print_test_results(labels, stopping.best().epoch(), dv, ts, selection.best_binary.epoch(), binary_dv, binary_ts);

  if (synthetic) print_probes(net, vocab, labels, opts.threads);

  const double train_seconds = outcome.session_train_seconds;
  const double trees_per_s = train_seconds > 0 ? outcome.session_items / train_seconds : 0.0;
  examples::Metrics metrics;
  add_score_metrics(metrics, labels, dv, ts, binary_dv, binary_ts, selection.best_binary.epoch());
  add_option_metrics(metrics, config, opts);
  metrics.set("best_epoch", stopping.best().epoch());
  metrics.set("epochs", double(loop.epoch));
  metrics.set("epochs_this_run", double(loop.epoch - start_epoch));
  metrics.set("trees_per_s", trees_per_s);
  metrics.set("train_s", train_seconds);
  metrics.set("wall_s", wall_seconds());
  metrics.set("threads", opts.used_threads);
  metrics.set("data", splits.source);
  metrics.write(args.str("metrics-out"));
  std::cout << "trained " << outcome.session_items << " trees at " << std::setprecision(4) << trees_per_s
            << " trees/s; wall " << wall_seconds() << " s\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc > 1 && std::string(argv[1]) == "predict") {
    argv[1] = argv[0];
    return run_predict(argc - 1, argv + 1);
  }
  return run_train(argc, argv);
} catch (const std::exception& e) {
  std::cerr << "sentiment: " << e.what() << "\n";
  return 1;
}
