/// @file
/// Bracketed trees of any arity with string labels: Penn Treebank constituency trees
/// "(S (NP (DT the) (NN cat)) (VP (VBD sat)))", SST-style trees "(3 (2 It) (4 works))", and
/// anything else written as (label child child ...) with (label word) at the leaves.
///
/// Grammar (tokens are split at whitespace and at '(' and ')'):
/// @code{.unparsed}
///   tree  := '(' label? (word | tree+) ')'
///   A node is "(label word)" — a leaf holding one word — or "(label t1 ... tn)" with n >= 1
///   subtrees; a node that mixes words and subtrees, holds two words, or holds nothing is an
///   error. The label may be left out only right before a '(' ("( (S ...) )", PTB's unlabelled
///   outer bracket: label ""). Tokens keep escapes such as "-LRB-" as written.
/// @endcode
///
/// As data::Tree, a tree is stored flat in post-order (children before parents, left to right,
/// root last, leaves in sentence order), and nothing recurses: depth costs no call stack.
/// Errors are TreeParseError (data/tree.hpp): "file:line:column: message", 1-based, the column
/// in bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "data/tree.hpp"
#include "data/tree_structure.hpp"

namespace tapenet::data {

struct NaryNode {
  std::string label;
  std::string word;           ///< leaves only
  std::vector<int> children;  ///< indices into NaryTree::nodes, left to right; empty for leaves

  bool is_leaf() const { return children.empty(); }
};

struct NaryTree {
  std::vector<NaryNode> nodes;  ///< post-order: children before parents, root last
  int root = -1;

  std::size_t size() const { return nodes.size(); }
  const NaryNode& root_node() const { return nodes.at(static_cast<std::size_t>(root)); }
  std::vector<std::string> words() const;   ///< the leaves' words, left to right
  std::vector<std::string> labels() const;  ///< every node's label, in node order
  std::size_t num_leaves() const;
  int depth() const;  ///< nodes on the longest root-to-leaf path; a single leaf has depth 1
  /// Brackets with single spaces: "(S (NP (DT the) (NN cat)) (VP (VBD sat)))".
  std::string to_string() const;
  /// children lists and order 0 .. size()-1 (post-order is bottom-up): node i is row i of the
  /// Child-Sum Tree-LSTM's inputs.
  TreeStructure structure() const;
};

/// Exactly one tree in `text` (which may span lines; line numbers count from `first_line`).
/// Throws TreeParseError for no tree, unbalanced brackets, an empty node, a word beside
/// subtrees, two words in a leaf, or anything after the tree (trailing garbage).
NaryTree parse_nary_tree(std::string_view text, const std::string& file = "<input>", std::size_t first_line = 1);

/// Every tree in `text`, one after another, separated by any whitespace (a tree may span
/// lines, several may share one). A word outside every tree is an error, as is text with no tree.
std::vector<NaryTree> parse_nary_trees(std::string_view text, const std::string& file = "<input>");

/// parse_nary_trees of a file's contents; std::runtime_error when it cannot be read.
std::vector<NaryTree> read_nary_trees(const std::string& path);

}  // namespace tapenet::data
