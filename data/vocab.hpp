/// @file
/// Word <-> index mapping for embedding lookups, with "<unk>" at index 0.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/tree.hpp"

namespace tapenet::data {

using WordCounts = std::unordered_map<std::string, std::size_t>;

/// Counts every leaf word of every tree (case kept, escapes such as -LRB- kept).
WordCounts count_words(const std::vector<Tree>& trees);

/// Bad vocabulary file: the message starts with "file:line: ".
class VocabError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Vocab {
 public:
  static constexpr int kUnkIndex = 0;
  static inline const std::string kUnkToken = "<unk>";

  Vocab();  ///< only `<unk>`

  /// Keeps the words seen at least min_count times, ordered by descending count then
  /// lexicographically (bytewise), so the indices do not depend on hash-map order.
  /// A literal "<unk>" in the counts is folded into index 0.
  static Vocab build(const WordCounts& counts, std::size_t min_count = 1);

  int index(const std::string& word) const;  ///< kUnkIndex when unknown
  const std::string& word(int index) const;  ///< throws std::out_of_range
  bool contains(const std::string& word) const;
  std::size_t size() const { return words_.size(); }
  const std::vector<std::string>& words() const { return words_; }

  /// Text file, one token per line in index order ("<unk>" first), LF line endings.
  void save(const std::string& path) const;
  /// Errors (VocabError) name file:line: missing "<unk>" first, empty or duplicate tokens.
  static Vocab load(const std::string& path);

 private:
  void add(std::string word);

  std::vector<std::string> words_;
  std::unordered_map<std::string, int> index_;
};

}  // namespace tapenet::data
