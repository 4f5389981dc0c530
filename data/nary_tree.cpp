#include "data/nary_tree.hpp"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>
#include <utility>

namespace tapenet::data {

// ---------------------------------------------------------------- NaryTree helpers

std::vector<std::string> NaryTree::words() const {
  std::vector<std::string> out;
  for (const NaryNode& n : nodes)
    if (n.is_leaf()) out.push_back(n.word);
  return out;
}

std::vector<std::string> NaryTree::labels() const {
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (const NaryNode& n : nodes) out.push_back(n.label);
  return out;
}

std::size_t NaryTree::num_leaves() const {
  return static_cast<std::size_t>(std::count_if(nodes.begin(), nodes.end(), [](const NaryNode& n) { return n.is_leaf(); }));
}

int NaryTree::depth() const { return nodes.empty() ? 0 : structure().depth(); }

std::string NaryTree::to_string() const {
  // Explicit stack of pending work: a node index (>= 0) to open, or the closing bracket.
  constexpr int kClose = -1;
  std::string out;
  if (nodes.empty()) return out;
  std::vector<int> todo{root};
  while (!todo.empty()) {
    const int item = todo.back();
    todo.pop_back();
    if (item == kClose) { out += ')'; continue; }
    const NaryNode& n = nodes[item];
    if (!out.empty() && out.back() != '(') out += ' ';
    out += '(';
    out += n.label;
    if (n.is_leaf()) {
      out += ' ';
      out += n.word;
      out += ')';
      continue;
    }
    todo.push_back(kClose);
    for (auto k = n.children.rbegin(); k != n.children.rend(); ++k) todo.push_back(*k);
  }
  return out;
}

TreeStructure NaryTree::structure() const {
  TreeStructure s;
  s.children.reserve(nodes.size());
  for (const NaryNode& n : nodes) s.children.push_back(n.children);
  s.order.resize(nodes.size());
  std::iota(s.order.begin(), s.order.end(), 0);
  return s;
}

// ---------------------------------------------------------------- parser

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_delimiter(char c) { return is_space(c) || c == '(' || c == ')'; }

struct Position {
  std::size_t line, column;
};

// A node whose ')' has not been read yet.
struct OpenNode {
  Position at;  // of its '('
  std::string_view label;
  std::string_view word;
  std::vector<int> children;
};

// One pass; a node is emitted when its ')' is read, which is post-order.
class NaryParser {
 public:
  NaryParser(std::string_view text, const std::string& file, std::size_t first_line, bool single)
      : text_(text), file_(file), line_(first_line), single_(single) {}

  std::vector<NaryTree> parse() {
    for (skip_spaces(); pos_ < text_.size(); skip_spaces()) {
      const char c = text_[pos_];
      if (c == '(') open_node();
      else if (c == ')') close_node();
      else read_word();
    }
    if (!open_.empty()) fail(open_.back().at, "unbalanced brackets: this '(' is never closed");
    if (trees_.empty()) fail(here(), "no tree: expected '('");
    return std::move(trees_);
  }

 private:
  [[noreturn]] void fail(Position at, const std::string& message) const {
    throw TreeParseError(file_, at.line, at.column, message);
  }
  Position here() const { return {line_, pos_ - line_start_ + 1}; }
  static std::string where(Position p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

  void skip_spaces() {
    while (pos_ < text_.size() && is_space(text_[pos_])) {
      if (text_[pos_] == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
      }
      ++pos_;
    }
  }

  std::string_view read_token() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !is_delimiter(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  void check_no_trailing(Position at, std::string_view what) const {
    if (single_ && !trees_.empty()) fail(at, "trailing garbage after the tree: '" + std::string(what) + "'");
  }

  void open_node() {
    const Position at = here();
    check_no_trailing(at, "(");
    if (!open_.empty() && !open_.back().word.empty())
      fail(at, "subtree beside the word '" + std::string(open_.back().word) + "' of the node at " +
                   where(open_.back().at) + "; a leaf holds one word and no subtrees");
    ++pos_;
    skip_spaces();
    OpenNode node{at, {}, {}, {}};
    if (pos_ < text_.size() && !is_delimiter(text_[pos_])) node.label = read_token();
    open_.push_back(std::move(node));
  }

  void close_node() {
    const Position at = here();
    if (open_.empty()) fail(at, "unbalanced brackets: ')' without a matching '('");
    OpenNode node = std::move(open_.back());
    open_.pop_back();
    if (node.word.empty() && node.children.empty())
      fail(node.at, node.label.empty() ? std::string("empty node '()'")
                                       : "empty node: '" + std::string(node.label) +
                                             "' has neither a word nor subtrees");
    ++pos_;
    tree_.nodes.push_back(NaryNode{std::string(node.label), std::string(node.word), std::move(node.children)});
    const int index = static_cast<int>(tree_.nodes.size()) - 1;
    if (!open_.empty()) {
      open_.back().children.push_back(index);
      return;
    }
    tree_.root = index;
    trees_.push_back(std::move(tree_));
    tree_ = NaryTree{};
  }

  void read_word() {
    const Position at = here();
    const std::string_view word = read_token();
    check_no_trailing(at, word);
    if (open_.empty()) fail(at, "text outside a tree: '" + std::string(word) + "'");
    OpenNode& node = open_.back();
    if (!node.children.empty())
      fail(at, "word '" + std::string(word) + "' beside subtrees in the node at " + where(node.at) +
                   "; a word must be alone in a leaf");
    if (!node.word.empty())
      fail(at, "second word '" + std::string(word) + "' in the leaf at " + where(node.at) +
                   "; a leaf holds exactly one word");
    node.word = word;
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t line_;
  std::size_t line_start_ = 0;  // offset of the current line's first byte
  std::size_t pos_ = 0;
  bool single_;
  std::vector<OpenNode> open_;  // the explicit stack that replaces recursion
  NaryTree tree_;
  std::vector<NaryTree> trees_;
};

}  // namespace

NaryTree parse_nary_tree(std::string_view text, const std::string& file, std::size_t first_line) {
  return std::move(NaryParser(text, file, first_line, true).parse().front());
}

std::vector<NaryTree> parse_nary_trees(std::string_view text, const std::string& file) {
  return NaryParser(text, file, 1, false).parse();
}

std::vector<NaryTree> read_nary_trees(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open tree file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return parse_nary_trees(text.str(), path);
}

}  // namespace tapenet::data
