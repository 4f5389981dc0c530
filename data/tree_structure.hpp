/// @file
/// The shape of a tree of any arity, as the Child-Sum Tree-LSTM (layers/child_sum_tree_lstm.hpp)
/// consumes it: who is whose child, and an order in which to visit the nodes bottom-up.
///
/// Both readers produce one: data/nary_tree.hpp (bracketed trees, nodes in post-order) and
/// data/conllu.hpp (dependency trees, node i = the sentence's word i). Node indices are the
/// rows of the per-node input matrix the layer reads, so the order of the nodes themselves
/// is the caller's (sentence order for words); `order` only says when each is computed.
#pragma once

#include <cstddef>
#include <vector>

namespace tapenet::data {

struct TreeStructure {
  std::vector<std::vector<int>> children;  ///< children[i]: node i's children, left to right
  std::vector<int> order;                  ///< every node once, each child before its parent

  std::size_t size() const { return children.size(); }
  /// The last node of `order`: the root of a tree (a forest has other roots before it).
  int root() const { return order.empty() ? -1 : order.back(); }
  /// parent[i], or -1 for a root.
  std::vector<int> parents() const;
  /// Nodes on the longest root-to-leaf path (a single node: 1), computed along `order`.
  int depth() const;
};

/// Throws std::invalid_argument unless `s` is a forest visited bottom-up: every child index
/// is a node, no node has two parents or is its own child, `order` is a permutation of the
/// nodes and lists every child before its parent. With `single_root`, exactly one node has
/// no parent and it comes last in `order`.
void check_structure(const TreeStructure& s, bool single_root = true);

/// The structure of a forest given by parent links (parent[i] = -1 for a root): children in
/// increasing index order, `order` a post-order (each subtree's nodes before its root, the
/// roots in increasing index order, so a tree's root is last). Iterative: a chain of any
/// length needs no call stack. Throws std::invalid_argument for a parent out of range or a
/// cycle (naming a node on it).
TreeStructure structure_from_parents(const std::vector<int>& parent);

/// Several trees as one forest: tree t's node i becomes node offsets[t] + i (offsets[t] = the
/// sizes of the trees before it), its order follows the earlier trees' orders. Stacking the
/// trees' input rows in the same order feeds the forest to the Child-Sum Tree-LSTM, whose
/// rows offsets[t] + trees[t].root() are then the roots. `offsets` may be nullptr.
TreeStructure join_trees(const std::vector<TreeStructure>& trees, std::vector<std::size_t>* offsets = nullptr);

}  // namespace tapenet::data
