// The command line of the tagger: the usage text and the options, parsed from the flags or,
// on --resume, from the checkpoint's run/config (examples/common/run_config.hpp: those
// marked * in the usage may be given again to override, *= must agree).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/run_config.hpp"
#include "model.hpp"

namespace tagger {

extern const char* const kUsage;

tapenet::examples::Args parse_args(int argc, char** argv);

struct Options {
  // data
  std::string train, valid, test, format, column;
  bool synthetic = false;
  std::size_t train_size = 0;
  // the net (ModelConfig without the sizes of the vocabularies)
  ModelConfig model;
  // training
  std::string optimizer;
  double lr = 0, beta2 = 0, lr_decay = 1, clip = 0, word_dropout = 0, unk_replace = 0, max_minutes = 0;
  std::size_t batch = 0, chunk = 0, epochs = 0, min_count = 1;
  int patience = 0, lr_patience = 0, threads = 0, used_threads = 0;
  std::uint64_t seed = 1;
  std::string checkpoint, metrics_out, plot;
  bool resume = false;

  std::string describe() const;  // one line: the net and the training options
  void add_metrics(tapenet::examples::Metrics& metrics) const;
};

Options parse_options(const tapenet::examples::Args& args, tapenet::examples::RunConfig& c);

}  // namespace tagger
