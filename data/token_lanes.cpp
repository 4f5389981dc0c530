#include "data/token_lanes.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tapenet::data {

TokenLanes::TokenLanes(const std::vector<std::int64_t>& ids, std::size_t batch, std::size_t seq)
    : ids_(ids), batch_(batch), seq_(seq), lane_(ids.size() > 1 && batch > 0 ? (ids.size() - 1) / batch : 0) {
  if (batch == 0 || seq == 0) throw std::invalid_argument("TokenLanes: batch and seq must be positive");
  if (lane_ == 0)
    throw std::invalid_argument("TokenLanes: " + std::to_string(ids.size()) + " tokens are too few for " +
                                std::to_string(batch) + " lanes");
}

std::size_t TokenLanes::chunk(std::size_t i, std::vector<std::int64_t>& inputs,
                              std::vector<std::int64_t>& targets) const {
  const std::size_t begin = i * seq_;
  if (begin >= lane_) throw std::out_of_range("TokenLanes: chunk " + std::to_string(i) + " is past the end");
  const std::size_t steps = std::min(seq_, lane_ - begin);
  inputs.resize(steps * batch_);
  targets.resize(steps * batch_);
  for (std::size_t t = 0; t < steps; ++t)
    for (std::size_t b = 0; b < batch_; ++b) {
      const std::size_t pos = b * lane_ + begin + t;
      inputs[t * batch_ + b] = ids_[pos];
      targets[t * batch_ + b] = ids_[pos + 1];
    }
  return steps;
}

}  // namespace tapenet::data
