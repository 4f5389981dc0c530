#include "options.hpp"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <tapenet/autograd/parallel_batch.hpp>
#include "corpus.hpp"

namespace sentiment {

using namespace tapenet;
using examples::Policy;

const char* const kUsage = R"usage(usage:
  sentiment [options]                       train, then report dev and test accuracy
  sentiment predict --checkpoint FILE       label every phrase of each stdin line

training options (on --resume, those marked * default to the checkpoint's: given again,
those marked *= must equal it and the other * ones override it; the architecture comes
from the checkpoint):
  --data DIR          train.txt, dev.txt, test.txt in SST's PTB format (default: a built-in
                      synthetic treebank with negation and contrast)
  --train F --dev F --test F   the three files by path instead of --data DIR
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
  --plot FILE.svg     training loss per tree and dev accuracy by epoch, redrawn every epoch
  --train-size N   *= synthetic treebank: training trees (default 2000); dev and test
                      get n/6 each, between 50 and 500

predict reads one tree per line on stdin: a bracketed tree "(3 (2 the) (3 film))" (its
labels are shown as gold) or a plain tokenised sentence, binarised right-branching
(w1 (w2 (... (wn-1 wn)))) by data::binarize_sentence.)usage";

namespace {

const char* const kFineClassNames[] = {"very negative", "negative", "neutral", "positive", "very positive"};
const char* const kBinaryClassNames[] = {"negative", "positive"};

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

std::string model_flag(TreeModel m) {
  switch (m) {
    case TreeModel::RNN: return "rnn";
    case TreeModel::RNTN: return "rntn";
    case TreeModel::TreeLSTM: return "treelstm";
  }
  return "?";
}

}  // namespace

const char* class_name(data::LabelMode mode, int c) {
  return mode == data::LabelMode::Fine ? kFineClassNames[c] : kBinaryClassNames[c];
}

std::string labels_flag(data::LabelMode mode) { return mode == data::LabelMode::Fine ? "fine" : "binary"; }

std::string pct(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << v << "%";
  return s.str();
}

std::string NetConfig::describe() const {
  return std::string(tree_model_name(model)) + " d=" + std::to_string(dim) + ", " + labels_flag(labels) +
         " labels" + (leaf_tanh ? ", leaf tanh" : "") + (leaf_cell == LeafCell::Linear ? ", linear leaf cell" : "") +
         (word_dim ? ", word vectors of " + std::to_string(word_dim) : "") + (lowercase ? ", lower-cased words" : "");
}

TreeNetOptions NetConfig::net_options() const {
  return TreeNetOptions().with_leaf_tanh(leaf_tanh).with_leaf_cell(leaf_cell).with_word_dim(word_dim);
}

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

}  // namespace sentiment
