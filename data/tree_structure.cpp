#include "data/tree_structure.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace tapenet::data {

std::vector<int> TreeStructure::parents() const {
  std::vector<int> parent(children.size(), -1);
  for (std::size_t i = 0; i < children.size(); ++i)
    for (int k : children[i]) parent.at(static_cast<std::size_t>(k)) = static_cast<int>(i);
  return parent;
}

int TreeStructure::depth() const {
  std::vector<int> depth_of(children.size(), 1);  // children are done before their parents
  int deepest = 0;
  for (int j : order) {
    for (int k : children[j]) depth_of[j] = std::max(depth_of[j], 1 + depth_of[k]);
    deepest = std::max(deepest, depth_of[j]);
  }
  return deepest;
}

void check_structure(const TreeStructure& s, bool single_root) {
  const std::size_t n = s.size();
  auto fail = [](const std::string& message) { throw std::invalid_argument("tree structure: " + message); };
  if (n == 0) fail("no nodes");
  if (s.order.size() != n)
    fail("order lists " + std::to_string(s.order.size()) + " nodes for " + std::to_string(n));
  std::vector<int> parent(n, -1);
  for (std::size_t i = 0; i < n; ++i)
    for (int k : s.children[i]) {
      if (k < 0 || static_cast<std::size_t>(k) >= n)
        fail("node " + std::to_string(i) + " has child " + std::to_string(k) + ", not a node");
      if (static_cast<std::size_t>(k) == i) fail("node " + std::to_string(i) + " is its own child");
      if (parent[k] >= 0)
        fail("node " + std::to_string(k) + " has two parents, " + std::to_string(parent[k]) + " and " +
             std::to_string(i));
      parent[k] = static_cast<int>(i);
    }
  std::vector<char> done(n, 0);
  for (int j : s.order) {
    if (j < 0 || static_cast<std::size_t>(j) >= n) fail("order holds " + std::to_string(j) + ", not a node");
    if (done[j]) fail("order lists node " + std::to_string(j) + " twice");
    for (int k : s.children[j])
      if (!done[k])
        fail("order visits node " + std::to_string(j) + " before its child " + std::to_string(k));
    done[j] = 1;
  }
  if (single_root) {
    const auto roots = std::count(parent.begin(), parent.end(), -1);
    if (roots != 1) fail(std::to_string(roots) + " roots; a tree has one");
    if (parent[s.order.back()] != -1) fail("the root must be the last node of order");
  }
}

TreeStructure structure_from_parents(const std::vector<int>& parent) {
  const std::size_t n = parent.size();
  TreeStructure s;
  s.children.resize(n);
  std::vector<int> roots;
  for (std::size_t i = 0; i < n; ++i) {
    const int p = parent[i];
    if (p < -1 || p >= static_cast<int>(n))
      throw std::invalid_argument("structure_from_parents: node " + std::to_string(i) + " has parent " +
                                  std::to_string(p) + ", not a node");
    if (p < 0) roots.push_back(static_cast<int>(i));
    else s.children[p].push_back(static_cast<int>(i));
  }
  // Post-order with an explicit stack of (node, next child to visit).
  s.order.reserve(n);
  std::vector<std::pair<int, std::size_t>> stack;
  for (int r : roots) {
    stack.push_back({r, 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < s.children[node].size()) {
        const int child = s.children[node][next++];
        stack.push_back({child, 0});
      } else {
        s.order.push_back(node);
        stack.pop_back();
      }
    }
  }
  if (s.order.size() != n) {  // the nodes no root reaches lie on a cycle or hang below one
    std::vector<char> reached(n, 0);
    for (int j : s.order) reached[j] = 1;
    int node = static_cast<int>(std::find(reached.begin(), reached.end(), 0) - reached.begin());
    std::vector<char> seen(n, 0);
    while (!seen[node]) {  // follow the parents until one repeats: that one is on the cycle
      seen[node] = 1;
      node = parent[node];
    }
    throw std::invalid_argument("structure_from_parents: node " + std::to_string(node) + " is on a cycle");
  }
  return s;
}

TreeStructure join_trees(const std::vector<TreeStructure>& trees, std::vector<std::size_t>* offsets) {
  TreeStructure forest;
  if (offsets) offsets->clear();
  for (const TreeStructure& t : trees) {
    const int base = static_cast<int>(forest.children.size());
    if (offsets) offsets->push_back(forest.children.size());
    for (const auto& kids : t.children) {
      forest.children.emplace_back();
      for (int k : kids) forest.children.back().push_back(base + k);
    }
    for (int j : t.order) forest.order.push_back(base + j);
  }
  return forest;
}

}  // namespace tapenet::data
