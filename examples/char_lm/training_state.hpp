// What char_lm keeps in its checkpoint beside the parameters and the optimizer's state, so
// that --resume continues exactly where the run stopped:
//
//   state/char_lm/step            steps done; the data position is step mod steps-per-epoch
//                                 and the dropout / sampling generators are re-seeded from
//                                 (seed, step), so no generator state needs saving
//   state/char_lm/carry/<k>/h|c   the truncated-BPTT state of each layer after the last chunk
//   state/char_lm/best_val        best validation loss so far (nats/char)
//   state/char_lm/vocab           the vocabulary's code points in id order (+ unk flag); a
//   state/char_lm/unk             resumed run rebuilds it from the text and checks it is equal
//   state/char_lm/setting/<name>  the options of Settings, each as 3 floats whose sum
//                                 (in double) is the exact double value
//
// Everything is stored as float tensors (exact for integers below 2^24, every code point
// included; settings split in three), in the same atomic .npz as the rest (optim/checkpoint.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/settings.hpp"
#include "corpus.hpp"
#include "model.hpp"
#include "optim/optimizer.hpp"

namespace char_lm {

// The options a checkpoint remembers (examples/common/settings.hpp): given again on resume,
// the ones that fix the model's shape or the data position (cell, layers, hidden, embed,
// seq, batch, optimizer) must equal the checkpoint's; the others (dropout, lr, min-lr,
// lr-schedule, clip, seed, steps) override it.
using tapenet::examples::Settings;

struct SavedRun {
  std::map<std::string, double> settings;
  std::u32string vocab;
  bool unk = false;
};

// The settings and vocabulary of a checkpoint, read before the model exists.
SavedRun read_saved_run(const std::string& path);
// Throws unless the checkpoint's vocabulary equals the one rebuilt from the text.
void check_vocabulary(const SavedRun& saved, const Vocabulary& vocab);

struct TrainingState {
  std::size_t step = 0;
  std::vector<StateValues> carry;  // empty: zero states
  double best_val = NAN;
};

void save(const std::string& path, const tapenet::ParameterList<float>& params,
          const tapenet::Optimizer<float>& optimizer, const TrainingState& state,
          const std::map<std::string, double>& settings, const Vocabulary& vocab);
// Loads parameters and optimizer state (validated by the library before anything changes).
TrainingState restore(const std::string& path, const tapenet::ParameterList<float>& params,
                      tapenet::Optimizer<float>& optimizer);

}  // namespace char_lm
