#include "data/lm_corpus.hpp"

#include <fstream>
#include <functional>
#include <sstream>

#include "data/text.hpp"

namespace tapenet::data {

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& detail) { throw CorpusError(where + ": " + detail); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CorpusError(path + ": cannot open the file");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Calls token(word, line, column) for every token and eos(line) at the end of every line;
// columns count code points from 1. Returns the number of lines.
std::size_t for_each_token(const std::string& path, const std::string& text,
                           const std::function<void(const std::string&, std::size_t, std::size_t)>& token,
                           const std::function<void()>& end_of_line) {
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line(text.data() + pos, end - pos);
    ++line_no;
    if (auto bad = find_invalid_utf8(line))
      fail(path + ":" + std::to_string(line_no) + ":" + std::to_string(decode_utf8(line.substr(0, *bad)).size() + 1),
           "invalid UTF-8");
    std::size_t column = 1, start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i) {
      const bool space = i == line.size() || line[i] == ' ' || line[i] == '\t' || line[i] == '\r';
      if (!space) continue;
      if (i > start) token(std::string(line.substr(start, i - start)), line_no, column);
      column += decode_utf8(line.substr(start, i - start)).size() + 1;
      start = i + 1;
    }
    end_of_line();
    pos = end + 1;
  }
  return line_no;
}

}  // namespace

std::optional<std::int64_t> WordVocabulary::find(const std::string& word) const {
  auto it = index_.find(word);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::int64_t WordVocabulary::add(const std::string& word) {
  auto [it, inserted] = index_.emplace(word, static_cast<std::int64_t>(words_.size()));
  if (inserted) words_.push_back(word);
  return it->second;
}

std::string WordVocabulary::to_text() const {
  std::string out;
  for (const auto& w : words_) out += w + "\n";
  return out;
}

WordVocabulary WordVocabulary::from_text(const std::string& text, const std::string& unk_token) {
  WordVocabulary v;
  std::istringstream in(text);
  std::string word;
  while (std::getline(in, word)) v.add(word);
  v.set_unk(unk_token);
  return v;
}

WordStream read_training_words(const std::string& path, const WordCorpusOptions& options, WordVocabulary& vocab) {
  return training_words_of_text(read_file(path), path, options, vocab);
}

WordStream read_words(const std::string& path, const WordCorpusOptions& options, const WordVocabulary& vocab) {
  return words_of_text(read_file(path), path, options, vocab);
}

WordStream training_words_of_text(const std::string& text, const std::string& path, const WordCorpusOptions& options,
                                  WordVocabulary& vocab) {
  WordStream s;
  std::size_t words = 0;
  s.lines = for_each_token(
      path, text,
      [&](const std::string& w, std::size_t line, std::size_t column) {
        const std::int64_t id = vocab.add(w);
        if (options.max_vocab && vocab.size() > options.max_vocab)
          fail(path + ":" + std::to_string(line) + ":" + std::to_string(column),
               "the vocabulary exceeds --max-vocab " + std::to_string(options.max_vocab) + " types at '" + w + "'");
        s.ids.push_back(id);
        ++words;
      },
      [&] { s.ids.push_back(vocab.add(options.eos)); });
  if (words == 0) fail(path, "holds no token (an empty training file)");
  if (options.max_vocab && vocab.size() > options.max_vocab)
    fail(path, "the vocabulary with '" + options.eos + "' exceeds --max-vocab " + std::to_string(options.max_vocab));
  vocab.set_unk(options.unk);
  return s;
}

WordStream words_of_text(const std::string& text, const std::string& path, const WordCorpusOptions& options,
                         const WordVocabulary& vocab) {
  const std::optional<std::int64_t> eos = vocab.find(options.eos);
  if (!eos) throw CorpusError(path + ": the vocabulary has no end-of-sentence token '" + options.eos + "'");
  WordStream s;
  std::size_t words = 0;
  s.lines = for_each_token(
      path, text,
      [&](const std::string& w, std::size_t line, std::size_t column) {
        ++words;
        if (auto id = vocab.find(w)) return s.ids.push_back(*id);
        if (!vocab.unk())
          fail(path + ":" + std::to_string(line) + ":" + std::to_string(column),
               "'" + w + "' is not in the training vocabulary, which has no '" + options.unk +
                   "' (give --unk TOKEN to map unknown words to a word of the vocabulary)");
        s.ids.push_back(*vocab.unk());
        ++s.unknown;
      },
      [&] { s.ids.push_back(*eos); });
  if (words == 0) fail(path, "holds no token (an empty file)");
  return s;
}

}  // namespace tapenet::data
