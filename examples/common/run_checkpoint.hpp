// A run's checkpoint, one layout for every example, in one atomic .npz:
//   param/<name>    the parameters                      (optim/checkpoint.hpp)
//   state/<key>     tensor state: the optimizer's buffers, carried RNN states, best parameters
//   run/config      the RunConfig (typed options, text)  numpy: bytes(f["run/config"]).decode()
//   run/loop        the LoopState (position, selection, patience)
//   run/<name>      any other text record of the example (e.g. its vocabulary)
// load_checkpoint ignores run/ entries, so the records can be read before the model exists.
#pragma once

#include <map>
#include <string>

#include <tapenet/io/npz.hpp>
#include "replicas.hpp"
#include <tapenet/layers/generate.hpp>
#include <tapenet/optim/checkpoint.hpp>
#include "run_config.hpp"
#include "train_loop.hpp"

namespace tapenet::examples {

struct RunRecord {
  ConfigValues config;
  LoopState loop;
  std::map<std::string, std::string> texts;  // the example's own records, by name (without "run/")
};

inline const std::string kRunPrefix = "run/";

template <class T>
void save_run(const std::string& path, const ParameterList<T>& params, const std::map<std::string, Tensor<T>>& state,
              const RunRecord& record) {
  if (!on_root()) return;  // rank 0 writes the checkpoint for every replica
  std::map<std::string, std::string> texts;
  texts[kRunPrefix + "config"] = serialize_config(record.config);
  texts[kRunPrefix + "loop"] = serialize_config(record.loop.to_values());
  for (const auto& [name, text] : record.texts) texts[kRunPrefix + name] = text;
  save_checkpoint(path, params, state, texts);
}

// The states carried across truncated-BPTT chunks, one per layer, as state tensors
// "<prefix><layer>/h" (and "/c" for cells that have one).
inline void put_carried_states(std::map<std::string, Tensor<float>>& state, const std::string& prefix,
                               const std::vector<StateValues<float>>& carry) {
  for (std::size_t k = 0; k < carry.size(); ++k) {
    state[prefix + std::to_string(k) + "/h"] = carry[k].h;
    if (carry[k].has_c) state[prefix + std::to_string(k) + "/c"] = carry[k].c;
  }
}

// Takes those entries out of `state` (what is left is e.g. the optimizer's).
inline std::vector<StateValues<float>> take_carried_states(std::map<std::string, Tensor<float>>& state,
                                                           const std::string& prefix) {
  std::vector<StateValues<float>> carry;
  for (std::size_t k = 0;; ++k) {
    auto h = state.find(prefix + std::to_string(k) + "/h");
    if (h == state.end()) break;
    StateValues<float> v;
    v.h = std::move(h->second);
    state.erase(h);
    auto c = state.find(prefix + std::to_string(k) + "/c");
    v.has_c = c != state.end();
    if (v.has_c) {
      v.c = std::move(c->second);
      state.erase(c);
    }
    carry.push_back(std::move(v));
  }
  return carry;
}

// The records of a checkpoint; throws CheckpointError naming the file when it is not a run's.
inline RunRecord read_run_record(const std::string& path, const std::vector<std::string>& own_texts = {}) {
  const NpzEntries npz(path);
  if (!npz.has(kRunPrefix + "config"))
    throw CheckpointError("checkpoint '" + path + "' holds no run/config entry: not a checkpoint of this program");
  RunRecord record;
  const std::string config_what = npz_entry_what(path, kRunPrefix + "config");
  const std::string loop_what = npz_entry_what(path, kRunPrefix + "loop");
  try {
    record.config = parse_config(npz.text(kRunPrefix + "config"), config_what);
    record.loop = LoopState::from_values(parse_config(npz.text(kRunPrefix + "loop"), loop_what), loop_what);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(e.what());
  }
  for (const auto& name : own_texts) record.texts[name] = npz.text(kRunPrefix + name);
  return record;
}

}  // namespace tapenet::examples
