#include "data/tree.hpp"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <utility>

namespace tapenet::data {

// ---------------------------------------------------------------- Tree helpers

std::vector<int> Tree::post_order() const {
  std::vector<int> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  return order;
}

// Post-order visits the left subtree's leaves before the right one's, so index order is
// sentence order.
std::vector<std::string> Tree::words() const {
  std::vector<std::string> out;
  for (const Node& n : nodes)
    if (n.is_leaf()) out.push_back(n.word);
  return out;
}

std::size_t Tree::num_leaves() const {
  return static_cast<std::size_t>(
      std::count_if(nodes.begin(), nodes.end(), [](const Node& n) { return n.is_leaf(); }));
}

int Tree::depth() const {
  std::vector<int> depth_of(nodes.size(), 1);  // children are filled in before parents
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!n.is_leaf()) depth_of[i] = 1 + std::max(depth_of[n.left], depth_of[n.right]);
  }
  return nodes.empty() ? 0 : depth_of.at(root);
}

std::string Tree::to_string() const {
  // Explicit stack of pending work: a node index (>= 0) to open, or a literal to write.
  constexpr int kClose = -1, kSpace = -2;
  std::string out;
  if (nodes.empty()) return out;
  std::vector<int> todo{root};
  while (!todo.empty()) {
    const int item = todo.back();
    todo.pop_back();
    if (item == kClose) { out += ')'; continue; }
    if (item == kSpace) { out += ' '; continue; }
    const Node& n = nodes[item];
    out += '(';
    out += std::to_string(n.label);
    out += ' ';
    if (n.is_leaf()) {
      out += n.word;
      out += ')';
    } else {  // pushed in reverse: left, space, right, close
      todo.insert(todo.end(), {kClose, n.right, kSpace, n.left});
    }
  }
  return out;
}

// ---------------------------------------------------------------- errors

TreeParseError::TreeParseError(const std::string& file, std::size_t line, std::size_t column,
                               const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                         ": " + message),
      file_(file),
      line_(line),
      column_(column) {}

// ---------------------------------------------------------------- parser

namespace {

bool is_delimiter(char c) { return c == ' ' || c == '(' || c == ')'; }

// A node whose ')' has not been read yet.
struct OpenNode {
  std::size_t column;  // of its '('
  int label;
  int children[2];
  int num_children;
  std::string_view word;
};

// Single pass over the line; nodes are emitted when their ')' is read, which is post-order.
class Parser {
 public:
  Parser(std::string_view line, const std::string& file, std::size_t line_no)
      : line_(line), file_(file), line_no_(line_no) {}

  Tree parse() {
    if (line_.find_first_not_of(' ') == std::string_view::npos) fail(1, "empty line");
    for (skip_spaces(); pos_ < line_.size(); skip_spaces()) {
      const char c = line_[pos_];
      if (c == '(') open_node();
      else if (c == ')') close_node();
      else read_word();
    }
    if (!open_.empty())
      fail(column(), "unbalanced brackets: '(' at column " +
                         std::to_string(open_.back().column) + " is never closed");
    tree_.root = static_cast<int>(tree_.nodes.size()) - 1;
    return std::move(tree_);
  }

 private:
  [[noreturn]] void fail(std::size_t col, const std::string& message) const {
    throw TreeParseError(file_, line_no_, col, message);
  }
  std::size_t column() const { return pos_ + 1; }
  bool root_done() const { return open_.empty() && !tree_.nodes.empty(); }

  void skip_spaces() {
    while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
  }

  std::string_view read_token() {
    const std::size_t start = pos_;
    while (pos_ < line_.size() && !is_delimiter(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }

  void open_node() {
    const std::size_t col = column();
    if (root_done()) fail(col, "trailing garbage after the root: '('");
    if (!open_.empty()) check_can_add_child(open_.back(), col);
    ++pos_;
    skip_spaces();
    if (pos_ >= line_.size())
      fail(column(), "unbalanced brackets: '(' at column " + std::to_string(col) +
                         " is never closed");
    if (is_delimiter(line_[pos_]))
      fail(column(), std::string("missing label: expected 0-4 after '(', found '") +
                         line_[pos_] + "'");
    const std::size_t label_col = column();
    open_.push_back(OpenNode{col, parse_label(read_token(), label_col), {-1, -1}, 0, {}});
  }

  void check_can_add_child(const OpenNode& parent, std::size_t col) const {
    if (!parent.word.empty())
      fail(col, "leaf '" + std::string(parent.word) + "' (node at column " +
                    std::to_string(parent.column) + ") cannot also have subtrees");
    if (parent.num_children == 2)
      fail(col, "node at column " + std::to_string(parent.column) +
                    " has more than 2 children; internal nodes need exactly 2");
  }

  int parse_label(std::string_view token, std::size_t col) const {
    if (token.size() != 1 || token[0] < '0' || token[0] > '4')
      fail(col, "label '" + std::string(token) + "' is not an integer in 0-4");
    return token[0] - '0';
  }

  void close_node() {
    if (open_.empty()) fail(column(), "unbalanced brackets: ')' without a matching '('");
    const OpenNode node = open_.back();
    check_arity(node);
    open_.pop_back();
    ++pos_;
    Node out;
    out.label = node.label;
    out.left = node.children[0];
    out.right = node.children[1];
    out.word = std::string(node.word);
    tree_.nodes.push_back(std::move(out));
    if (!open_.empty()) {
      OpenNode& parent = open_.back();
      parent.children[parent.num_children++] = static_cast<int>(tree_.nodes.size()) - 1;
    }
  }

  void check_arity(const OpenNode& node) const {
    const std::string where = " at column " + std::to_string(node.column);
    if (node.num_children == 0 && node.word.empty())
      fail(column(), "leaf without a word: node" + where + " is empty");
    if (node.num_children == 1)
      fail(column(), "node" + where + " has 1 child; internal nodes need exactly 2");
  }

  void read_word() {
    const std::size_t col = column();
    const std::string_view word = read_token();
    if (root_done()) fail(col, "trailing garbage after the root: '" + std::string(word) + "'");
    if (open_.empty()) fail(col, "expected '(' to start a tree, found '" + std::string(word) + "'");
    OpenNode& node = open_.back();
    if (node.num_children > 0)
      fail(col, "word '" + std::string(word) + "' next to subtrees in node at column " +
                    std::to_string(node.column) + "; a word must be alone in a leaf");
    if (!node.word.empty())
      fail(col, "second word '" + std::string(word) + "' in leaf at column " +
                    std::to_string(node.column) + "; a leaf holds exactly one word");
    node.word = word;
  }

  std::string_view line_;
  const std::string& file_;
  std::size_t line_no_;
  std::size_t pos_ = 0;
  std::vector<OpenNode> open_;  // the explicit stack that replaces recursion
  Tree tree_;
};

}  // namespace

Tree parse_tree(std::string_view line, const std::string& file, std::size_t line_no) {
  return Parser(line, file, line_no).parse();
}

std::vector<Tree> read_trees(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open tree file");
  std::vector<Tree> trees;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) trees.push_back(parse_tree(line, path, ++line_no));
  if (in.bad()) throw std::runtime_error(path + ": read error");
  if (trees.empty()) throw TreeParseError(path, 1, 1, "file holds no tree");
  return trees;
}

// ---------------------------------------------------------------- plain sentences

namespace {

std::vector<std::string> split_ascii_whitespace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  std::vector<std::string> tokens;
  for (std::size_t start = text.find_first_not_of(kSpace); start != std::string_view::npos;) {
    const std::size_t end = std::min(text.find_first_of(kSpace, start), text.size());
    tokens.emplace_back(text.substr(start, end - start));
    start = text.find_first_not_of(kSpace, end);
  }
  return tokens;
}

}  // namespace

// Post-order of (w1 (w2 (... (wn-1 wn)))) is: all leaves, then the internal nodes from
// the deepest one, (wn-1 wn), up to the root.
Tree binarize_sentence(std::string_view sentence) {
  std::vector<std::string> words = split_ascii_whitespace(sentence);
  if (words.empty()) throw std::invalid_argument("binarize_sentence: sentence has no tokens");
  Tree tree;
  const int n = static_cast<int>(words.size());
  for (std::string& w : words) tree.nodes.push_back(Node{kUnknownLabel, -1, -1, std::move(w)});
  int right = n - 1;  // the subtree built so far, spanning words[i+1 ..]
  for (int i = n - 2; i >= 0; --i) {
    tree.nodes.push_back(Node{kUnknownLabel, i, right, {}});
    right = static_cast<int>(tree.nodes.size()) - 1;
  }
  tree.root = right;
  return tree;
}

// ---------------------------------------------------------------- label modes

int num_classes(LabelMode mode) { return mode == LabelMode::Fine ? kNumFineLabels : 2; }

int binary_label(int fine) {
  if (fine < 0 || fine >= kNumFineLabels)
    throw std::invalid_argument("binary_label: label " + std::to_string(fine) +
                                " is not in 0-4");
  if (fine == 2) return kDroppedLabel;
  return fine < 2 ? 0 : 1;
}

int mode_label(int fine, LabelMode mode) {
  return mode == LabelMode::Fine ? fine : binary_label(fine);
}

std::vector<Tree> binary_root_subset(std::vector<Tree> trees) {
  trees.erase(std::remove_if(trees.begin(), trees.end(),
                             [](const Tree& t) { return binary_label(t.root_label()) == kDroppedLabel; }),
              trees.end());
  return trees;
}

void lowercase_words(Tree& tree) {
  for (Node& node : tree.nodes)
    for (char& ch : node.word)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
}

}  // namespace tapenet::data
