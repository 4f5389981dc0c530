// One truncated-BPTT step of a language model with its lanes cut into fixed groups: the
// unit of data parallelism for char_lm and word_lm (threads, and ranks under mpirun).
//
// The B lanes of a chunk are cut into G contiguous groups (--lane-groups; the cut depends
// on B and G only). Each group is recorded on its own tape from its rows of the carried
// state, with its own dropout stream, and weighs its mean loss by its share of the tokens:
//   loss = Σ_g (tokens_g / tokens) · mean_g        (= the batch mean)
// The groups' gradients are summed in group order (distributed_chunks), so a given G gives
// the same bits on any number of threads and ranks; the states after the chunk are
// gathered from the ranks that computed them. G = 1 is the plain single-tape step.
#pragma once

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapenet/distributed/data_parallel.hpp>
#include "replicas.hpp"
#include <tapenet/layers/generate.hpp>
#include <tapenet/layers/language_model.hpp>

namespace tapenet::examples {

struct LaneGroupOptions {
  std::size_t groups = 1;
  std::uint64_t dropout_seed = 0;  // group g draws from dropout_seed + g·golden (g = 0: dropout_seed)
  float scale = 1;                 // backward runs on scale · loss (word_lm: Σ over the steps)
  int threads = 0;
};

// Throws when the lanes cannot be cut into `groups` non-empty groups, or fewer groups
// than ranks would leave a rank idle (naming the option to change).
inline void check_lane_groups(std::size_t batch, std::size_t groups, int ranks) {
  if (groups == 0 || groups > batch)
    throw std::invalid_argument("--lane-groups must be between 1 and --batch (" + std::to_string(batch) + ")");
  if (groups < std::size_t(ranks))
    throw std::invalid_argument(std::to_string(ranks) + " ranks need --lane-groups >= " + std::to_string(ranks) +
                                " (it is " + std::to_string(groups) +
                                "); the same --lane-groups gives the same figures on any number of ranks");
}

namespace lane_groups_detail {

inline Tensor<float> rows(const Tensor<float>& t, std::size_t first, std::size_t last) {
  const std::size_t width = t.shape()[1];
  Tensor<float> out = zeros<float>({last - first, width});
  std::copy(t.data() + first * width, t.data() + last * width, out.data());
  return out;
}

// The columns [first, last) of a time-major [T·B] id matrix.
inline std::vector<std::int64_t> lanes(const std::vector<std::int64_t>& ids, std::size_t batch, std::size_t first,
                                       std::size_t last) {
  std::vector<std::int64_t> out;
  for (std::size_t t = 0; t < ids.size() / batch; ++t)
    out.insert(out.end(), ids.begin() + std::ptrdiff_t(t * batch + first), ids.begin() + std::ptrdiff_t(t * batch + last));
  return out;
}

}  // namespace lane_groups_detail

// Trains one chunk (inputs/targets time-major [T·B]); parameter gradients are added into
// `params`' grad (zeroed by the caller) and `carry` becomes the state after the chunk.
// Returns the batch-mean loss.
inline float train_lane_groups(const RNNLanguageModel<float>& model, const std::vector<std::int64_t>& inputs,
                               const std::vector<std::int64_t>& targets, std::size_t batch,
                               std::vector<StateValues<float>>& carry, const ParameterList<float>& params,
                               const LaneGroupOptions& o) {
  using namespace lane_groups_detail;
  if (o.groups == 1) {  // one tape for the whole batch, recycled from step to step
    static thread_local Tape<float> tape;
    tape.clear();
    std::mt19937_64 rng(o.dropout_seed);
    std::vector<RecurrentState<float>> states;
    for (const auto& v : carry) states.push_back(constant_state(v, tape));
    Var<float> loss = model.loss(tape, inputs, targets, batch, states, &rng);
    carry.clear();
    for (const auto& st : states) carry.push_back(state_values(st));
    tape.backward(o.scale == 1 ? loss : loss * o.scale);
    return loss.item();
  }
  const distributed::World& world = distributed::world();
  check_lane_groups(batch, o.groups, world.size());
  const auto first_lane = [&](std::size_t g) { return batch * g / o.groups; };
  std::vector<std::vector<StateValues<float>>> after(o.groups);  // each group writes its own slot
  const ChunkLossFn<float> group_loss = [&](Tape<float>& tape, std::size_t g) {
    const std::size_t b0 = first_lane(g), b1 = first_lane(g + 1);
    std::mt19937_64 rng(o.dropout_seed + g * 0x9E3779B97F4A7C15ULL);
    std::vector<RecurrentState<float>> states;
    for (const auto& v : carry) {
      StateValues<float> mine{rows(v.h, b0, b1), v.has_c ? rows(v.c, b0, b1) : Tensor<float>(), v.has_c};
      states.push_back(constant_state(mine, tape));
    }
    Var<float> mean = model.loss(tape, lanes(inputs, batch, b0, b1), lanes(targets, batch, b0, b1), b1 - b0, states, &rng);
    for (const auto& st : states) after[g].push_back(state_values(st));
    return mean * (o.scale * float(b1 - b0) / float(batch));
  };
  const float loss = distributed::distributed_chunks(world, o.groups, group_loss, params, o.threads) / o.scale;
  // The new carry: every group's rows, gathered in group order (= lane order) from their ranks.
  const distributed::ChunkRange mine = distributed::owned_chunks(o.groups, world.rank(), world.size());
  const std::size_t layers = after[mine.first].size();
  std::vector<StateValues<float>> next(layers);
  for (std::size_t l = 0; l < layers; ++l) {
    for (const bool cell : {false, true}) {
      if (cell && !after[mine.first][l].has_c) continue;
      std::vector<float> flat;
      for (std::size_t g = mine.first; g < mine.last; ++g) {
        const Tensor<float>& t = cell ? after[g][l].c : after[g][l].h;
        flat.insert(flat.end(), t.data(), t.data() + t.size());
      }
      const std::vector<float> all = world.all_gather(flat);
      Tensor<float> whole = zeros<float>({batch, all.size() / batch});
      std::copy(all.begin(), all.end(), whole.data());
      (cell ? next[l].c : next[l].h) = std::move(whole);
      next[l].has_c = next[l].has_c || cell;
    }
  }
  carry = std::move(next);
  return loss;
}

}  // namespace tapenet::examples
