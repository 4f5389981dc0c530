// libFuzzer target: data::parse_tree on one line of bytes. A malformed tree must throw
// TreeParseError at a column of the line; a parsed one must keep the Tree invariants and
// print back to a tree that parses to the same brackets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "data/tree.hpp"
#include "fuzz_support.hpp"

using namespace tapenet::data;
using tapenet::fuzz::reading;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line = tapenet::fuzz::text_of(data, size);
  Tree tree;
  // One line, whatever bytes it holds ('\n' included): the column is at most one past its end.
  const auto in_the_line = [&](const TreeParseError& e) {
    if (e.line() != 1 || e.column() < 1 || e.column() > size + 1) std::abort();
  };
  if (!reading<TreeParseError>([&] { tree = parse_tree(line, "fuzz", 1); }, in_the_line)) return 0;
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
