// Training the sentiment net: the optimizer with the L2 λ per parameter class, the
// minibatches of an epoch, the dev selection, resuming from a checkpoint, and the hooks
// that wire them into the shared training loop (examples/common/train_loop.hpp).
//
// Checkpoint layout (examples/common/run_checkpoint.hpp):
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
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/run_config.hpp"
#include "../common/plot.hpp"
#include "../common/train_loop.hpp"
#include <tapenet/data/tree.hpp>
#include <tapenet/data/word_replacement.hpp>
#include "evaluate.hpp"
#include <tapenet/layers/tree_nets.hpp>
#include <tapenet/optim/averaging.hpp>
#include <tapenet/optim/early_stopping.hpp>
#include <tapenet/optim/optimizer.hpp>
#include <tapenet/optim/optimizer_set.hpp>
#include "options.hpp"

namespace sentiment {

// The run's optimizer: one group per run of parameters of one class (in parameters() order,
// the order clipping sums in), each with its class's λ; the word vectors' group also has
// --embed-lr-scale and, with --l2-words-in-batch, λ on the minibatch's rows only. With
// --embed-sgd the word vectors have their own plain SGD (Tai et al.'s code), unclipped.
struct TrainingOptimizer {
  tapenet::OptimizerSet<float> set;
  tapenet::Optimizer<float>* words = nullptr;  // the member that holds the word vectors
  std::size_t words_group = 0;                 // their group in it
};

TrainingOptimizer make_optimizer(tapenet::TreeNet<float>& net, const TrainOptions& opts, bool is_lstm);

// The minibatches of one epoch: a fresh shuffle (a function of seed and epoch), then each
// batch through parallel_batch (one tape per chunk) and update_parameters.
struct BatchTrainer {
  tapenet::TreeNet<float>& net;
  TrainingOptimizer& optimizer;
  tapenet::ParameterAverage<float>* average;
  const TrainOptions& opts;
  const tapenet::data::WordReplacement& replace_words;
  std::uint64_t seed;
  tapenet::data::LabelMode labels;
  const std::vector<Example>& train;
  std::vector<std::size_t> order;
  double loss_sum = 0;  // over the epoch's batches so far
  std::size_t trees = 0;

  // Returns the number of minibatches of `epoch`.
  std::size_t start_epoch(int epoch);
  // Minibatch `batch` of `epoch`: Σ over its trees of Σ over their nodes of the cross-entropy.
  tapenet::examples::StepResult train_batch(int epoch, std::size_t batch);
};

// Early stopping keeps the best epoch by the selection figure (root fine-grained, or root
// binary for a binary net). A fine-grained net also keeps its best epoch by dev root
// binary: the SST-2 task selected on its own dev figure.
struct Selection {
  tapenet::EarlyStopping<float> stopping;
  tapenet::BestSnapshot<float> best_binary;
  bool fine_net;

  Selection(const tapenet::ParameterList<float>& params, int patience, bool fine);

  // Whether `dev` is the best epoch so far by the selection figure.
  void save(std::map<std::string, tapenet::Tensor<float>>& state) const;
  void load(const std::map<std::string, tapenet::Tensor<float>>& state, const std::string& path);
};

// Loads the parameters, the selection, the optimizer's and the average's state from
// `checkpoint`, and says so with the epochs it had done.
void resume_from(const std::string& checkpoint, const tapenet::ParameterList<float>& params,
                 const TrainOptions& opts, TrainingOptimizer& optimizer, Selection& selection,
                 tapenet::ParameterAverage<float>* average, std::size_t epochs_done);

// One training run's pieces, built from the options; run() wires them into the shared loop.
struct TrainRun {
  const tapenet::examples::Args& args;
  tapenet::examples::RunConfig& run_config;
  const NetConfig& config;
  const TrainOptions& opts;
  const std::vector<Example>& train;
  const std::vector<Example>& dev;
  tapenet::TreeNet<float>& net;
  TrainingOptimizer& optimizer;
  tapenet::ParameterAverage<float>* average;
  Selection& selection;
  BatchTrainer& trainer;
  std::string checkpoint;

  Scores last_dev;
  std::chrono::steady_clock::time_point epoch_start;
  double epoch_train_seconds = 0;
  tapenet::examples::RunPlot plot;  // --plot: loss per tree and dev accuracy by epoch

  void save(const tapenet::examples::LoopState& s) const;
  // Dev with the averaged parameters swapped in; after_step swaps them out again, after the
  // loop has offered the score to the selection (which keeps the parameters it sees).
  tapenet::examples::Evaluation evaluate(const tapenet::examples::LoopState& s);
  void after_evaluation(const tapenet::examples::LoopState& s, const tapenet::examples::Evaluation& e);
  std::string status(const tapenet::examples::LoopState& s) const;
  tapenet::examples::LoopOutcome run(tapenet::examples::LoopState& state);
};

}  // namespace sentiment
