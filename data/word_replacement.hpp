/// @file
/// Training-time replacement of words by `<unk>` (data::Vocab::kUnkIndex), so that the `<unk>`
/// vector, which stands for every dev/test word unseen in training, is trained too:
/// @code{.unparsed}
///   unk_replace   a token of a word seen once in the training data, with probability p
///   word_dropout  any token, with probability p
/// @endcode
/// A token is replaced with probability 1 − (1 − p_single)(1 − word_dropout). The draws are
/// a function of (seed, epoch, position) (data/seeds.hpp), so a resumed run repeats them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tapenet::data {

class WordReplacement {
 public:
  /// train_counts[i]: how often vocabulary index i occurs in the training data (the size
  /// of the vocabulary). std::invalid_argument unless unk_replace is in [0, 1] and
  /// word_dropout in [0, 1).
  WordReplacement(std::vector<std::size_t> train_counts, double unk_replace, double word_dropout, std::uint64_t seed);

  /// counts[id] += 1 for every id of `ids` (one training example); std::out_of_range for
  /// an id outside [0, counts.size()).
  static void add_counts(std::vector<std::size_t>& counts, const std::vector<std::int64_t>& ids);

  /// `ids` with its replaced tokens set to `<unk>`: the example at `position` of epoch `epoch`.
  /// std::out_of_range for an index outside the vocabulary.
  std::vector<std::int64_t> operator()(std::vector<std::int64_t> ids, std::uint64_t epoch, std::size_t position) const;

  bool active() const { return unk_replace_ != 0 || word_dropout_ != 0; }

 private:
  std::vector<std::size_t> train_counts_;
  double unk_replace_, word_dropout_;
  std::uint64_t seed_;
};

}  // namespace tapenet::data
