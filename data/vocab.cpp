#include "data/vocab.hpp"

#include <algorithm>
#include <fstream>
#include <utility>

namespace tapenet::data {

WordCounts count_words(const std::vector<Tree>& trees) {
  WordCounts counts;
  for (const Tree& tree : trees)
    for (const Node& node : tree.nodes)
      if (node.is_leaf()) ++counts[node.word];
  return counts;
}

Vocab::Vocab() { add(kUnkToken); }

void Vocab::add(std::string word) {
  index_.emplace(word, static_cast<int>(words_.size()));
  words_.push_back(std::move(word));
}

Vocab Vocab::build(const WordCounts& counts, std::size_t min_count) {
  std::vector<std::pair<std::string, std::size_t>> kept;
  for (const auto& [word, count] : counts)
    if (count >= min_count && word != kUnkToken) kept.emplace_back(word, count);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Vocab vocab;
  for (auto& entry : kept) vocab.add(std::move(entry.first));
  return vocab;
}

int Vocab::index(const std::string& word) const {
  const auto it = index_.find(word);
  return it == index_.end() ? kUnkIndex : it->second;
}

const std::string& Vocab::word(int index) const {
  if (index < 0 || static_cast<std::size_t>(index) >= words_.size())
    throw std::out_of_range("Vocab::word: index " + std::to_string(index) +
                            " out of range [0, " + std::to_string(words_.size()) + ")");
  return words_[index];
}

bool Vocab::contains(const std::string& word) const { return index_.count(word) > 0; }

void Vocab::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw VocabError(path + ": cannot open for writing");
  for (const std::string& w : words_) {
    // A newline would split the token into two lines and shift every later index.
    if (w.find('\n') != std::string::npos)
      throw VocabError(path + ": token with a newline cannot be saved");
    out << w << '\n';
  }
  out.flush();
  if (!out) throw VocabError(path + ": write failed");
}

Vocab Vocab::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw VocabError(path + ": cannot open vocabulary file");
  auto fail = [&path](std::size_t line_no, const std::string& message) {
    return VocabError(path + ":" + std::to_string(line_no) + ": " + message);
  };
  std::string line;
  if (!std::getline(in, line) || line != kUnkToken)
    throw fail(1, "first token must be " + kUnkToken);
  Vocab vocab;
  for (std::size_t line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty()) throw fail(line_no, "empty token");
    if (vocab.contains(line)) throw fail(line_no, "duplicate token '" + line + "'");
    vocab.add(line);
  }
  if (in.bad()) throw VocabError(path + ": read error");
  return vocab;
}

}  // namespace tapenet::data
