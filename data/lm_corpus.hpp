/// @file
/// Word-level language-model text: one sentence per line, tokens separated by spaces, an
/// end-of-sentence token appended to every line (Mikolov et al. 2010's Penn Treebank
/// convention, used by Zaremba et al. 2014). The vocabulary comes from the training file;
/// the other files are read against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace tapenet::data {

/// A bad corpus file: the message starts with "file:line: " (and the column where it helps).
class CorpusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WordCorpusOptions {
  std::string eos = "<eos>";  ///< appended to every line
  /// The token that stands for words the vocabulary lacks: a word of another file missing
  /// from the vocabulary becomes it when the vocabulary has it, and is an error otherwise.
  std::string unk = "<unk>";
  std::size_t max_vocab = 0;  ///< the training file may hold at most this many types (0: no limit)
};

/// Words in order of first occurrence in the training file (as Zaremba et al.'s reader
/// numbers them), the end-of-sentence token included.
class WordVocabulary {
 public:
  std::size_t size() const { return words_.size(); }
  const std::string& word(std::int64_t id) const { return words_.at(static_cast<std::size_t>(id)); }
  std::optional<std::int64_t> find(const std::string& word) const;
  /// The unknown-word id, when the vocabulary holds the options' unk token.
  std::optional<std::int64_t> unk() const { return unk_; }
  const std::vector<std::string>& words() const { return words_; }

  /// Adds `word` if new; returns its id.
  std::int64_t add(const std::string& word);
  void set_unk(const std::string& token) { unk_ = find(token); }

  /// One word per line, in id order, and back (the checkpoint's record of the vocabulary).
  std::string to_text() const;
  static WordVocabulary from_text(const std::string& text, const std::string& unk_token);

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, std::int64_t> index_;
  std::optional<std::int64_t> unk_;
};

struct WordStream {
  std::vector<std::int64_t> ids;  ///< every token of the file, `<eos>` included, in order
  std::size_t lines = 0;
  std::size_t unknown = 0;  ///< tokens mapped to `<unk>` because the vocabulary lacks them
};

/// Builds the vocabulary from the training file and reads it. Throws CorpusError for a file
/// that cannot be read, holds no token, is not valid UTF-8 (naming line and column), or has
/// more than max_vocab types.
WordStream read_training_words(const std::string& path, const WordCorpusOptions& options, WordVocabulary& vocab);

/// The same for a text held in memory; `name` stands for the file in messages.
WordStream training_words_of_text(const std::string& text, const std::string& name, const WordCorpusOptions& options,
                                  WordVocabulary& vocab);
WordStream words_of_text(const std::string& text, const std::string& name, const WordCorpusOptions& options,
                         const WordVocabulary& vocab);

/// Reads another file against `vocab`. A word it lacks becomes vocab.unk(); without one it
/// is a CorpusError naming file:line:column and the word.
WordStream read_words(const std::string& path, const WordCorpusOptions& options, const WordVocabulary& vocab);

}  // namespace tapenet::data
