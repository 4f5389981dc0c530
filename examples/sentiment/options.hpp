// The command line of the sentiment example: the usage text, the architecture (NetConfig)
// and the training options (TrainOptions) parsed from the flags or, on --resume and
// predict, from the checkpoint's run/config; and what a run prints and records of them.
#pragma once

#include <cstddef>
#include <string>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/run_config.hpp"
#include <tapenet/data/tree.hpp>
#include "evaluate.hpp"
#include <tapenet/layers/tree_nets.hpp>

namespace sentiment {

struct Splits;

extern const char* const kUsage;

// The name of class `c` of a net of `mode`, e.g. "very negative".
const char* class_name(tapenet::data::LabelMode mode, int c);
// The --labels value of `mode`: "fine" or "binary".
std::string labels_flag(tapenet::data::LabelMode mode);
// `v` percent with one decimal, e.g. "81.7%".
std::string pct(double v);

// What defines the net's shape and function: fixed by the checkpoint.
struct NetConfig {
  tapenet::TreeModel model = tapenet::TreeModel::RNTN;
  std::size_t dim = 25;
  tapenet::data::LabelMode labels = tapenet::data::LabelMode::Fine;
  bool leaf_tanh = false;
  tapenet::LeafCell leaf_cell = tapenet::LeafCell::Gated;
  std::size_t word_dim = 0;  // 0: dim
  bool lowercase = false;    // the words are lower-cased before the vocabulary lookup

  std::size_t classes() const { return static_cast<std::size_t>(tapenet::data::num_classes(labels)); }
  std::string describe() const;
  tapenet::TreeNetOptions net_options() const;
};

// The architecture: from the flags, or on --resume and predict from the checkpoint, where a
// flag given again must agree (the shared policy, examples/common/run_config.hpp).
NetConfig net_config(const tapenet::examples::Args& args, tapenet::examples::RunConfig& c);

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
TrainOptions train_options(const tapenet::examples::Args& args, tapenet::examples::RunConfig& settings,
                           const NetConfig& config, bool synthetic);

// One line: the net, the data and every training option.
void print_header(const NetConfig& config, std::size_t parameters, const Splits& splits, std::size_t vocab_size,
                  const TrainOptions& opts);

// The dev figures of the selected epoch and the test figures (of a fine-grained net also
// those of its best dev-binary epoch).
void print_test_results(tapenet::data::LabelMode labels, int best_epoch, const Scores& dv, const Scores& ts,
                        int binary_epoch, const Scores& binary_dv, const Scores& binary_ts);

// The test and dev figures of the selected epoch (and, for a fine-grained net, of the best
// dev-binary epoch). A binary net has no fine-grained figures: those keys are left out.
void add_score_metrics(tapenet::examples::Metrics& metrics, tapenet::data::LabelMode labels, const Scores& dv,
                       const Scores& ts, const Scores& binary_dv, const Scores& binary_ts, int binary_epoch);

// What was trained, and how.
void add_option_metrics(tapenet::examples::Metrics& metrics, const NetConfig& config, const TrainOptions& opts);

}  // namespace sentiment
