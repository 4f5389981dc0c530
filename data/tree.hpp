/// @file
/// Labelled binary constituency trees (Stanford Sentiment Treebank, PTB bracket notation).
///
/// A tree is stored flat, in post-order, so bottom-up composition (TreeRNN, RNTN) is a
/// plain loop over `nodes`: every child comes before its parent and the root is last.
/// Nothing here recurses, so arbitrarily deep (degenerate) trees cannot overflow the stack.
///
/// Tokens keep the treebank's escapes as written: "-LRB-", "-RRB-" and "\/" are not turned
/// back into "(", ")" and "/". That keeps to_string() an exact round trip, keeps words free
/// of the bracket characters the format reserves, and matches the tokens other SST tools
/// (and pretrained embeddings built from SST) use.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tapenet::data {

constexpr int kNumFineLabels = 5;  ///< 0 very negative .. 4 very positive
constexpr int kUnknownLabel = -1;  ///< no gold label (trees built from plain sentences)

struct Node {
  int label = kUnknownLabel;  ///< 0-4, or kUnknownLabel
  int left = -1;              ///< child indices into Tree::nodes; -1 for leaves
  int right = -1;
  std::string word;           ///< leaves only

  bool is_leaf() const { return left < 0; }
};

/// Invariant (kept by parse_tree and binarize_sentence): `nodes` is in post-order with the
/// left subtree before the right one, so children precede parents, the root is last and
/// the leaves appear in sentence order.
struct Tree {
  std::vector<Node> nodes;
  int root = -1;

  std::size_t size() const { return nodes.size(); }  ///< number of nodes, leaves included
  const Node& root_node() const { return nodes.at(static_cast<std::size_t>(root)); }
  int root_label() const { return root_node().label; }

  /// Node indices in bottom-up order (children before parents): 0 .. size()-1.
  std::vector<int> post_order() const;
  /// The words of the leaves, left to right.
  std::vector<std::string> words() const;
  std::size_t num_leaves() const;
  /// Nodes on the longest root-to-leaf path; a single leaf has depth 1.
  int depth() const;
  /// PTB brackets, "(3 (2 It) (4 ...))": equal to the parsed line when that line used single
  /// spaces. Unknown labels are written as -1, which parse_tree rejects.
  std::string to_string() const;
};

/// Malformed tree text. what() starts with "file:line:column: " (1-based; column in bytes).
class TreeParseError : public std::runtime_error {
 public:
  TreeParseError(const std::string& file, std::size_t line, std::size_t column,
                 const std::string& message);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }

 private:
  std::string file_;
  std::size_t line_;
  std::size_t column_;
};

/// Parses one line holding one tree: "(label word)" for a leaf, "(label left right)" for an
/// internal node. Tokens are separated by ASCII spaces ' ' only, so a word may contain other
/// bytes, e.g. U+00A0 in SST's "8 1\/2". Labels are single digits 0-4. `file` and `line_no`
/// only go into error messages.
Tree parse_tree(std::string_view line, const std::string& file = "<input>",
                std::size_t line_no = 1);

/// Every line of a file is one tree. Empty lines are errors (a single final newline is
/// fine), as are a file that cannot be opened (std::runtime_error) or that holds no tree.
std::vector<Tree> read_trees(const std::string& path);

/// A sentence (tokens split on ASCII whitespace) as a right-branching binary tree
/// (w1 (w2 (... (wn-1 wn)))) with unknown labels, for predict mode. No PTB tokenisation is
/// done: pass "-LRB-", "\/", "'s" ... already split as in the treebank to match its vocabulary.
/// Throws std::invalid_argument for a sentence without tokens.
Tree binarize_sentence(std::string_view sentence);

/// Fine-grained (5 classes) or binary (SST-2: negative / positive, neutral dropped).
enum class LabelMode { Fine, Binary };

constexpr int kDroppedLabel = -1;  ///< neutral under LabelMode::Binary

int num_classes(LabelMode mode);
/// 0-1 -> 0, 3-4 -> 1, 2 -> kDroppedLabel. Throws std::invalid_argument outside 0-4.
int binary_label(int fine);
/// The fine label itself, or binary_label(fine).
int mode_label(int fine, LabelMode mode);

/// The SST-2 evaluation set: the trees whose root is not neutral. Node labels stay
/// fine-grained; map them with binary_label (inner neutral phrases are then dropped).
std::vector<Tree> binary_root_subset(std::vector<Tree> trees);

/// Lower-cases the ASCII letters A-Z of every leaf word in place (bytes >= 0x80, i.e. the
/// rest of a UTF-8 word, are left as they are), so "Good" and "good" share one vector.
void lowercase_words(Tree& tree);

}  // namespace tapenet::data
