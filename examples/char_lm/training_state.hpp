// What char_lm keeps in its checkpoint (the layout of examples/common/run_checkpoint.hpp):
//
//   param/<name>, state/<optimizer buffers>   the model and the optimizer
//   state/char_lm/carry/<k>/h|c               the truncated-BPTT state of each layer after
//                                             the last chunk (absent: zero states)
//   state/trainer/best_*, state/best/<name>   the EarlyStopping: the best validation loss
//                                             and the parameters that reached it
//   run/config, run/loop                      the options and the loop's position; the data
//                                             position is the step
//                                             and the dropout / sampling generators are
//                                             re-seeded from (seed, step), so no generator
//                                             state needs saving
//   run/vocab                                 the vocabulary's characters in id order (UTF-8);
//                                             run/config's "unk" says whether <unk> follows.
//                                             A resumed run rebuilds it from the text and
//                                             checks it is equal.
#pragma once

#include <string>
#include <vector>

#include "../common/run_checkpoint.hpp"
#include "corpus.hpp"
#include "model.hpp"
#include <tapenet/optim/early_stopping.hpp>
#include <tapenet/optim/optimizer.hpp>

namespace char_lm {

using tapenet::examples::RunRecord;

// The records of a checkpoint (options, loop state, vocabulary), read before the model exists.
RunRecord read_saved_run(const std::string& path);
// Throws unless the checkpoint's vocabulary equals the one rebuilt from the text.
void check_vocabulary(const RunRecord& saved, const Vocabulary& vocab);
// The vocabulary record for save().
std::string vocabulary_record(const Vocabulary& vocab);

void save(const std::string& path, const tapenet::ParameterList<float>& params,
          const tapenet::Optimizer<float>& optimizer, const tapenet::EarlyStopping<float>& best,
          const std::vector<StateValues>& carry, const RunRecord& record);
// Loads parameters, optimizer state and the best so far (validated by the library before
// anything changes) and returns the carried states.
std::vector<StateValues> restore(const std::string& path, const tapenet::ParameterList<float>& params,
                                 tapenet::Optimizer<float>& optimizer, tapenet::EarlyStopping<float>& best);

}  // namespace char_lm
