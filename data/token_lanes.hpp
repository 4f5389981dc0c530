/// @file
/// A token stream read as B parallel lanes, chunk by chunk: the batching of truncated
/// backpropagation through time for language models (Zaremba et al. 2014; Karpathy's
/// char-rnn). Chunk i + 1 continues every lane where chunk i stopped, so the state a model
/// carries in row b is always the state of lane b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tapenet::data {

/// B lanes over a stream of N ids: lane b is ids[b·L, (b+1)·L] with L = (N - 1) / B (the
/// last id of a lane is only a target). Chunk i of length S holds, time-major,
/// inputs[t·B + b] = lane_b[i·S + t] and targets[t·B + b] = lane_b[i·S + t + 1].
/// Keeps a reference to `ids`, which must outlive it.
class TokenLanes {
 public:
  /// Throws std::invalid_argument when batch or seq is 0 or the stream is too short for
  /// `batch` lanes.
  TokenLanes(const std::vector<std::int64_t>& ids, std::size_t batch, std::size_t seq);

  std::size_t batch() const { return batch_; }
  std::size_t seq() const { return seq_; }
  std::size_t lane_length() const { return lane_; }
  /// Chunks per pass over the lanes; the last is shorter when S does not divide L.
  std::size_t chunks() const { return (lane_ + seq_ - 1) / seq_; }
  /// Only full chunks (training keeps every step the same length).
  std::size_t full_chunks() const { return lane_ / seq_; }
  /// Fills inputs/targets for chunk i; returns its length in steps. std::out_of_range past the end.
  std::size_t chunk(std::size_t i, std::vector<std::int64_t>& inputs, std::vector<std::int64_t>& targets) const;

 private:
  const std::vector<std::int64_t>& ids_;
  std::size_t batch_, seq_, lane_;
};

}  // namespace tapenet::data
