#include "data/conllu.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

namespace tapenet::data {

// ---------------------------------------------------------------- ConlluSentence

std::string ConlluSentence::comment(const std::string& key) const {
  for (const std::string& c : comments) {
    // "# key = value", spaces around the key and the '=' optional
    std::size_t p = c.find_first_not_of(' ', 1);
    if (p == std::string::npos || c.compare(p, key.size(), key) != 0) continue;
    p = c.find_first_not_of(' ', p + key.size());
    if (p == std::string::npos || c[p] != '=') continue;
    p = c.find_first_not_of(' ', p + 1);
    return p == std::string::npos ? std::string() : c.substr(p);
  }
  return {};
}

std::vector<std::string> ConlluSentence::forms() const {
  std::vector<std::string> out;
  out.reserve(words.size());
  for (const ConlluWord& w : words) out.push_back(w.form);
  return out;
}

int ConlluSentence::root() const {
  for (std::size_t i = 0; i < words.size(); ++i)
    if (words[i].head == 0) return static_cast<int>(i);
  return -1;
}

TreeStructure ConlluSentence::tree() const {
  std::vector<int> parent;
  parent.reserve(words.size());
  for (const ConlluWord& w : words) parent.push_back(w.head - 1);  // HEAD 0 -> -1 (a root)
  return structure_from_parents(parent);
}

// ---------------------------------------------------------------- parser

namespace {

constexpr std::size_t kColumns = 10;
constexpr std::size_t kHeadColumn = 6;  // 0-based: ID FORM LEMMA UPOS XPOS FEATS HEAD

// A non-negative decimal integer of at most 9 digits, or -1.
int parse_count(std::string_view s) {
  if (s.empty() || s.size() > 9) return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string id_of(const ConlluToken& t) { return std::to_string(t.first) + "-" + std::to_string(t.last); }

class ConlluParser {
 public:
  ConlluParser(std::string_view text, const std::string& file, const ConlluOptions& options)
      : text_(text), file_(file), options_(options) {}

  std::vector<ConlluSentence> parse() {
    std::size_t start = 0;
    while (start < text_.size()) {
      std::size_t end = text_.find('\n', start);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no_;
      read_line(line);
      start = end + 1;
    }
    finish_sentence();
    if (sentences_.empty()) fail(line_no_ ? line_no_ : 1, 1, "no sentence: the text holds no word line");
    return std::move(sentences_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, std::size_t column, const std::string& message) const {
    throw ConlluError(file_, line, column, message);
  }

  void read_line(std::string_view line) {
    if (line.empty()) {
      finish_sentence();
      return;
    }
    if (current_.words.empty() && current_.comments.empty() && current_.multiword.empty()) current_.line = line_no_;
    if (line[0] == '#') {
      current_.comments.emplace_back(line);
      return;
    }
    // Split at tabs, keeping each field's 1-based column.
    std::vector<std::string_view> fields;
    std::vector<std::size_t> columns;
    for (std::size_t p = 0;;) {
      const std::size_t tab = line.find('\t', p);
      fields.push_back(line.substr(p, tab == std::string_view::npos ? std::string_view::npos : tab - p));
      columns.push_back(p + 1);
      if (tab == std::string_view::npos) break;
      p = tab + 1;
    }
    if (fields.size() != kColumns)
      fail(line_no_, fields.size() > kColumns ? columns[kColumns] : line.size() + 1,
           "expected " + std::to_string(kColumns) + " tab-separated columns, found " + std::to_string(fields.size()));
    const std::string_view id = fields[0];
    const int expected = static_cast<int>(current_.words.size()) + 1;
    if (const std::size_t dash = id.find('-'); dash != std::string_view::npos) {
      const int first = parse_count(id.substr(0, dash)), last = parse_count(id.substr(dash + 1));
      if (first < 0 || last < 0) fail(line_no_, 1, "multiword token ID '" + std::string(id) + "' is not a range N-M");
      if (first < 1 || last <= first) fail(line_no_, 1, "multiword token range '" + std::string(id) + "' is empty or reversed");
      if (!current_.multiword.empty() && first <= current_.multiword.back().last)
        fail(line_no_, 1, "multiword token " + std::string(id) + " overlaps the token " + id_of(current_.multiword.back()));
      if (first != expected)
        fail(line_no_, 1, "multiword token " + std::string(id) + " out of sequence: the next word is " + std::to_string(expected));
      current_.multiword.push_back(ConlluToken{first, last, std::string(fields[1]), line_no_});
      return;
    }
    if (const std::size_t dot = id.find('.'); dot != std::string_view::npos) {
      if (parse_count(id.substr(0, dot)) < 0 || parse_count(id.substr(dot + 1)) < 1)
        fail(line_no_, 1, "empty node ID '" + std::string(id) + "' is not a decimal N.M");
      return;  // an empty node: no word of the basic tree
    }
    const int n = parse_count(id);
    if (n < 0) fail(line_no_, 1, "ID '" + std::string(id) + "' is not a number, a range N-M or a decimal N.M");
    if (n != expected)
      fail(line_no_, 1, "word ID " + std::to_string(n) + " out of sequence: expected " + std::to_string(expected));
    const int head = parse_count(fields[kHeadColumn]);
    if (head < 0) fail(line_no_, columns[kHeadColumn], "HEAD '" + std::string(fields[kHeadColumn]) + "' is not a number");
    ConlluWord w;
    w.id = n;
    w.form = fields[1];
    w.lemma = fields[2];
    w.upos = fields[3];
    w.xpos = fields[4];
    w.feats = fields[5];
    w.head = head;
    w.deprel = fields[7];
    w.line = line_no_;
    current_.words.push_back(std::move(w));
    head_columns_.push_back(columns[kHeadColumn]);
  }

  void finish_sentence() {
    ConlluSentence s = std::move(current_);
    std::vector<std::size_t> head_columns = std::move(head_columns_);
    current_ = ConlluSentence{};
    head_columns_.clear();
    if (s.words.empty()) {
      if (!s.comments.empty() || !s.multiword.empty()) fail(s.line, 1, "sentence without words");
      return;  // an extra empty line
    }
    check_multiword_ends(s);
    check_tree(s, head_columns);
    sentences_.push_back(std::move(s));
  }

  // Only now is the sentence's length known: a token may not name words it lacks.
  void check_multiword_ends(const ConlluSentence& s) const {
    for (const ConlluToken& t : s.multiword)
      if (static_cast<std::size_t>(t.last) > s.size())
        fail(t.line, 1, "multiword token " + id_of(t) + " ends past the sentence's last word, " + std::to_string(s.size()));
  }

  // Heads in range, exactly one root (or at least one), no cycle.
  void check_tree(const ConlluSentence& s, const std::vector<std::size_t>& head_columns) const {
    const std::size_t n = s.words.size();
    auto fail_at = [&](std::size_t i, const std::string& message) { fail(s.words[i].line, head_columns[i], message); };
    int root = -1;
    for (std::size_t i = 0; i < n; ++i) {
      const ConlluWord& w = s.words[i];
      if (static_cast<std::size_t>(w.head) > n)
        fail_at(i, "HEAD " + std::to_string(w.head) + " out of range: the sentence has " + std::to_string(n) + " words");
      if (w.head == w.id) fail_at(i, "HEAD " + std::to_string(w.head) + " is the word itself (a cycle)");
      if (w.head == 0) {
        if (root >= 0 && options_.single_root)
          fail_at(i, "several roots: words " + std::to_string(root + 1) + " and " + std::to_string(w.id) + " have HEAD 0");
        if (root < 0) root = static_cast<int>(i);
      }
    }
    if (root < 0) fail(s.words[0].line, head_columns[0], "no root: no word has HEAD 0");
    // Walk up from every word; state 1 = on the current walk, 2 = known to reach a root.
    std::vector<char> state(n, 0);
    std::vector<int> walk;
    for (std::size_t start = 0; start < n; ++start) {
      walk.clear();
      int j = static_cast<int>(start);
      while (j >= 0 && state[j] == 0) {
        state[j] = 1;
        walk.push_back(j);
        j = s.words[j].head - 1;
      }
      if (j >= 0 && state[j] == 1) {  // back on this walk: a cycle through j
        int first = j;
        std::string path = std::to_string(j + 1);
        for (int k = s.words[j].head - 1; k != j; k = s.words[k].head - 1) {
          first = std::min(first, k);
          path += " -> " + std::to_string(k + 1);
        }
        fail_at(static_cast<std::size_t>(first), "cycle in HEAD: " + path + " -> " + std::to_string(j + 1));
      }
      for (int k : walk) state[k] = 2;
    }
  }

  std::string_view text_;
  const std::string& file_;
  ConlluOptions options_;
  std::size_t line_no_ = 0;
  ConlluSentence current_;
  std::vector<std::size_t> head_columns_;  // per word of current_, the HEAD field's column
  std::vector<ConlluSentence> sentences_;
};

}  // namespace

std::vector<ConlluSentence> parse_conllu(std::string_view text, const std::string& file, const ConlluOptions& options) {
  return ConlluParser(text, file, options).parse();
}

std::vector<ConlluSentence> read_conllu(const std::string& path, const ConlluOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open CoNLL-U file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return parse_conllu(text.str(), path, options);
}

WordCounts count_forms(const std::vector<ConlluSentence>& sentences) {
  WordCounts counts;
  for (const ConlluSentence& s : sentences)
    for (const ConlluWord& w : s.words) ++counts[w.form];
  return counts;
}

std::vector<std::int64_t> form_ids(const ConlluSentence& sentence, const Vocab& vocab) {
  std::vector<std::int64_t> ids;
  ids.reserve(sentence.words.size());
  for (const ConlluWord& w : sentence.words) ids.push_back(vocab.index(w.form));
  return ids;
}

}  // namespace tapenet::data
