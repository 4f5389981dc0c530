#include "data/word_replacement.hpp"

#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "data/seeds.hpp"
#include "data/vocab.hpp"

namespace tapenet::data {

namespace {

std::size_t checked_index(std::int64_t id, std::size_t vocab_size) {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_size)
    throw std::out_of_range("WordReplacement: word id " + std::to_string(id) + " outside the " +
                            std::to_string(vocab_size) + "-word vocabulary");
  return static_cast<std::size_t>(id);
}

// Salt of this component's stream, so it is independent of the shuffle and mask streams
// derived from the same seed.
constexpr std::uint64_t kStreamSalt = 0x0ddba11ull;

}  // namespace

WordReplacement::WordReplacement(std::vector<std::size_t> train_counts, double unk_replace, double word_dropout,
                                 std::uint64_t seed)
    : train_counts_(std::move(train_counts)), unk_replace_(unk_replace), word_dropout_(word_dropout), seed_(seed) {
  if (!(unk_replace >= 0 && unk_replace <= 1) || !(word_dropout >= 0 && word_dropout < 1))
    throw std::invalid_argument("WordReplacement: unk_replace must be in [0, 1], word_dropout in [0, 1)");
}

void WordReplacement::add_counts(std::vector<std::size_t>& counts, const std::vector<std::int64_t>& ids) {
  for (std::int64_t id : ids) ++counts[checked_index(id, counts.size())];
}

std::vector<std::int64_t> WordReplacement::operator()(std::vector<std::int64_t> ids, std::uint64_t epoch,
                                                      std::size_t position) const {
  if (!active()) return ids;
  std::mt19937_64 rng(mix_seed(seed_ ^ kStreamSalt, epoch, position + 1));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (auto& id : ids) {
    const double p_single = train_counts_[checked_index(id, train_counts_.size())] == 1 ? unk_replace_ : 0.0;
    const double p = 1.0 - (1.0 - p_single) * (1.0 - word_dropout_);
    if (u(rng) < p) id = Vocab::kUnkIndex;
  }
  return ids;
}

}  // namespace tapenet::data
