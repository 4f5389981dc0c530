// libFuzzer target: data::parse_tree on one line of bytes. A malformed tree must throw
// TreeParseError; a parsed one must keep the Tree invariants and print back to a tree
// that parses to the same brackets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "data/tree.hpp"

using namespace tapenet::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  Tree tree;
  try {
    tree = parse_tree(line, "fuzz", 1);
  } catch (const TreeParseError&) {
    return 0;
  }
  // Post-order: children before parents, root last.
  if (tree.nodes.empty() || tree.root != static_cast<int>(tree.nodes.size()) - 1) std::abort();
  for (std::size_t i = 0; i < tree.nodes.size(); ++i) {
    const Node& n = tree.nodes[i];
    if (n.is_leaf() != (n.right < 0)) std::abort();
    if (!n.is_leaf() && (n.left >= static_cast<int>(i) || n.right >= static_cast<int>(i))) std::abort();
  }
  tree.depth();
  tree.words();
  const std::string printed = tree.to_string();
  if (parse_tree(printed, "fuzz-printed", 1).to_string() != printed) std::abort();
  return 0;
}
