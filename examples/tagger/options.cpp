#include "options.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "autograd/parallel_batch.hpp"

namespace tagger {

using namespace tapenet;
using examples::Policy;

const char* const kUsage = R"usage(usage: tagger [options]
  Sequence labelling (POS tags, BIO entities) with a BiLSTM over word embeddings and
  per-word character BiLSTMs, softmax or CRF output. Reports token accuracy and, for
  BIO/IOB tags, entity F1 (conlleval rules). Without --train: built-in synthetic data.

data (on --resume, options marked * default to the checkpoint's; *= must equal it):
  --train F --valid F --test F   CoNLL-U (*.conllu) or two-column (word TAB tag) files
  --format X       *= auto (by file name: *.conllu is CoNLL-U) | conllu | columns
  --column C       *= conllu: upos (default) | xpos
  --train-size N   *= synthetic: training sentences (default 1500; valid and test N/5)
the net:
  --output O       *= softmax (default) | crf
  --word-dim N     *= word embedding size (default 100)
  --char-dim N     *= character embedding size (default 30)
  --char-hidden N  *= character LSTM units per direction (default 50; 0: no character features)
  --hidden N       *= word LSTM units per direction (default 100)
  --layers N       *= stacked BiLSTM layers (default 1)
  --min-count N    *= words seen fewer times in train are <unk> (default 1)
training:
  --optimizer O    *= adam (default) | sgd
  --lr X           *  learning rate (default adam 0.001, sgd 0.1)
  --beta2 X        *  adam: the second-moment decay (default 0.999; 0.9 as Dozat & Manning 2017)
  --lr-decay X     *  multiply the rate by X after more than --lr-patience evaluations without
                      a better valid score (torch's ReduceLROnPlateau; default 1: constant rate)
  --lr-patience N  *  evaluations without a better valid score before a decay (default 2)
  --clip X         *  clip the global gradient norm (default 5; 0: off)
  --dropout P      *  dropout on the BiLSTM's inputs and outputs (default 0.25)
  --unk-replace P  *  a training token of a word seen once becomes <unk> with probability P (default 0.25)
  --word-dropout P *  any training token becomes <unk> with probability P (default 0)
  --batch N        *= sentences per update (default 32)
  --chunk N        *= sentences per tape (one padded batch; default 8)
  --epochs N       *  maximum epochs (default 30; synthetic 8)
  --patience N     *  stop after N epochs without a better valid score (default 5)
  --max-minutes X     stop (and save) after X minutes of this session (default 0: no limit)
  --threads N         threads for the chunks and OpenBLAS (default: all cores)
  --seed N         *= initialisation, shuffling, dropout, synthetic data (default 1)
  --checkpoint FILE   save at every epoch end (atomic .npz, plus FILE.vocab)
  --resume            continue from --checkpoint exactly where it stopped
  --metrics-out FILE  final figures as JSON (test_accuracy, valid_accuracy, tokens_per_s, wall_s ...)
  --plot FILE.svg     train loss per token and valid accuracy by epoch
The valid score selecting the best epoch is entity F1 for BIO/IOB tag sets, else token accuracy.)usage";

examples::Args parse_args(int argc, char** argv) {
  return examples::Args(argc, argv,
                        {"train", "valid", "test", "format", "column", "train-size", "output", "word-dim", "char-dim",
                         "char-hidden", "hidden", "layers", "min-count", "optimizer", "lr", "beta2", "lr-decay",
                         "lr-patience", "clip", "dropout",
                         "unk-replace", "word-dropout", "batch", "chunk", "epochs", "patience", "max-minutes",
                         "threads", "seed", "checkpoint", "resume", "metrics-out", "plot"},
                        {"resume"}, kUsage);
}

Options parse_options(const examples::Args& args, examples::RunConfig& c) {
  Options o;
  o.train = args.str("train");
  o.valid = args.str("valid");
  o.test = args.str("test");
  o.synthetic = o.train.empty();
  if (o.synthetic && (!o.valid.empty() || !o.test.empty()))
    throw std::invalid_argument("--valid and --test need --train");
  if (!o.synthetic && o.valid.empty()) throw std::invalid_argument("--train needs --valid (the selection split)");
  if (auto saved = c.saved("synthetic"); saved && saved->as_flag() != o.synthetic)
    throw std::invalid_argument(o.synthetic ? "the checkpoint was trained with --train: give the files again"
                                            : "the checkpoint was trained on the synthetic data: resume without --train");
  c.set("synthetic", examples::ConfigValue::flag(o.synthetic));
  o.format = c.choice("format", "auto", {"auto", "conllu", "columns"});
  o.column = c.choice("column", "upos", {"upos", "xpos"});
  o.train_size = c.count("train-size", 1500);
  ModelConfig& m = o.model;
  m.crf = c.choice("output", "softmax", {"softmax", "crf"}) == "crf";
  m.word_dim = c.count("word-dim", 100);
  m.char_dim = c.count("char-dim", 30);
  const long char_hidden = c.integer("char-hidden", 50, Policy::Fixed);
  if (char_hidden < 0) throw std::invalid_argument("--char-hidden must not be negative");
  m.char_hidden = std::size_t(char_hidden);
  m.hidden = c.count("hidden", 100);
  m.layers = c.count("layers", 1);
  o.min_count = c.count("min-count", 1);
  o.optimizer = c.choice("optimizer", "adam", {"adam", "sgd"});
  o.lr = c.number("lr", o.optimizer == "adam" ? 1e-3 : 0.1);
  o.beta2 = c.number("beta2", 0.999);
  o.lr_decay = c.number("lr-decay", 1.0);
  o.lr_patience = int(c.integer("lr-patience", 2));
  if (!(o.beta2 > 0 && o.beta2 < 1) || !(o.lr_decay > 0 && o.lr_decay <= 1) || o.lr_patience < 0)
    throw std::invalid_argument("--beta2 must be in (0, 1), --lr-decay in (0, 1], --lr-patience not negative");
  o.clip = c.number("clip", 5.0);
  m.dropout = c.number("dropout", 0.25);
  o.unk_replace = c.number("unk-replace", 0.25);
  o.word_dropout = c.number("word-dropout", 0.0);
  if (!(o.lr > 0) || o.clip < 0 || m.dropout < 0 || m.dropout >= 1 || o.unk_replace < 0 || o.unk_replace > 1 ||
      o.word_dropout < 0 || o.word_dropout >= 1)
    throw std::invalid_argument("--lr must be positive, --clip not negative, --dropout and --word-dropout in [0, 1), "
                                "--unk-replace in [0, 1]");
  o.batch = c.count("batch", 32);
  o.chunk = c.count("chunk", 8);
  o.epochs = std::size_t(c.integer("epochs", o.synthetic ? 8 : 30));
  o.patience = int(c.integer("patience", 5));
  if (o.patience < 1) throw std::invalid_argument("--patience must be positive");
  o.max_minutes = args.num("max-minutes", 0);
  if (o.max_minutes < 0) throw std::invalid_argument("--max-minutes must not be negative");
  o.threads = int(args.integer("threads", 0));
  if (o.threads < 0) throw std::invalid_argument("--threads must not be negative");
  o.used_threads = o.threads > 0 ? o.threads : default_thread_count();
  const long seed = c.integer("seed", 1, Policy::Fixed);
  if (seed < 0) throw std::invalid_argument("--seed must be a whole number >= 0");
  o.seed = std::uint64_t(seed);
  o.checkpoint = args.str("checkpoint");
  o.resume = args.has("resume");
  if (o.resume && o.checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");
  o.metrics_out = args.str("metrics-out");
  o.plot = args.str("plot");
  return o;
}

std::string Options::describe() const {
  std::ostringstream s;
  s << "BiLSTM " << model.layers << "x" << model.hidden << " over words " << model.word_dim;
  if (model.char_hidden) s << " + char BiLSTM " << model.char_hidden << " (chars " << model.char_dim << ")";
  s << ", " << (model.crf ? "CRF" : "softmax") << " output; " << optimizer << " lr " << lr;
  if (optimizer == "adam" && beta2 != 0.999) s << " (beta2 " << beta2 << ")";
  if (lr_decay < 1) s << " x" << lr_decay << " after " << lr_patience << "+1 evaluations without a better one";
  s << ", batch " << batch
    << " (chunks of " << chunk << "), dropout " << model.dropout << ", unk-replace " << unk_replace
    << ", word-dropout " << word_dropout << ", clip " << clip << ", " << used_threads << " thread(s)";
  return s.str();
}

void Options::add_metrics(examples::Metrics& metrics) const {
  metrics.set("output", model.crf ? "crf" : "softmax");
  metrics.set("word_dim", double(model.word_dim));
  metrics.set("char_dim", double(model.char_dim));
  metrics.set("char_hidden", double(model.char_hidden));
  metrics.set("hidden", double(model.hidden));
  metrics.set("layers", double(model.layers));
  metrics.set("dropout", model.dropout);
  metrics.set("optimizer", optimizer);
  metrics.set("lr", lr);
  metrics.set("beta2", beta2);
  metrics.set("lr_decay", lr_decay);
  metrics.set("lr_patience", double(lr_patience));
  metrics.set("batch", double(batch));
  metrics.set("chunk", double(chunk));
  metrics.set("unk_replace", unk_replace);
  metrics.set("word_dropout", word_dropout);
  metrics.set("threads", double(used_threads));
  metrics.set("data", synthetic ? "synthetic" : train);
  metrics.set("column", column);
}

}  // namespace tagger
