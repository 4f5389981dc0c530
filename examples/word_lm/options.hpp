// word_lm's options, the presets of Zaremba et al. (2014), and how a checkpoint remembers them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "../common/cli.hpp"
#include "../common/run_config.hpp"

namespace word_lm {

struct Options {
  // data
  std::string train, valid, test, unk = "<unk>";
  std::size_t max_vocab = 0;
  // model
  std::string cell = "lstm";
  std::size_t layers = 2, hidden = 200, embed = 200;
  double dropout = 0, init_scale = 0.1;
  bool variational = false, tied = false;
  // training
  std::size_t bptt = 20, batch = 20, lane_groups = 1, epochs = 13, decay_after = 4;
  std::string optimizer = "sgd";
  double lr = 1, lr_decay = 0.5, clip = 5, weight_decay = 0;
  std::uint64_t seed = 1;
  // run
  std::size_t eval_batch = 1, sample_sentences = 3;
  double max_minutes = 0;
  int threads = 1;
  std::string preset = "zaremba-small", checkpoint, metrics_out, plot;

  // The learning rate of epoch e (from 0): lr for the first decay_after epochs, then
  // multiplied by lr_decay at every epoch.
  double lr_at(std::size_t epoch) const;
};

// Every option word_lm accepts, and which of them are flags.
extern const char* const kUsage;
std::set<std::string> option_names();
std::set<std::string> flag_names();

// The options of the command line over the preset's values; on resume (`config` made
// from the checkpoint's record) the checkpoint's values for the ones left out, under the
// shared policy (examples/common/run_config.hpp): the model's shape, the data and the
// batching are fixed, the schedule and the run's limits may change.
Options read_options(const tapenet::examples::Args& args, tapenet::examples::RunConfig& config);

}  // namespace word_lm
