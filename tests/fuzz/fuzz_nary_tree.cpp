// libFuzzer target: data::parse_nary_tree and parse_nary_trees on the same text. Malformed
// text must throw TreeParseError naming a line:column of the text; the single-tree reader
// must accept exactly what the many-trees reader reads as one tree; every tree read must be
// a post-order tree that prints back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "data/nary_tree.hpp"
#include "data/tree_structure.hpp"
#include "fuzz_support.hpp"

using namespace tapenet::data;
using tapenet::fuzz::reading;

namespace {

constexpr std::size_t kFirstLine = 7;  // parse_nary_tree counts lines from its caller's line

bool is_token(std::string_view s) { return s.find_first_of(" \t\n\r\v\f()") == std::string_view::npos; }

// Children before parents, each node the child of one parent, root last; a leaf holds one
// word and a label, an inner node no word; the shape is a tree.
void check_tree(const NaryTree& t) {
  if (t.nodes.empty() || t.root != static_cast<int>(t.size()) - 1) std::abort();
  std::vector<int> parent(t.size(), -1);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const NaryNode& n = t.nodes[i];
    if (!is_token(n.label) || !is_token(n.word)) std::abort();
    if (n.is_leaf() == n.word.empty() || (n.is_leaf() && n.label.empty())) std::abort();
    for (const int k : n.children) {
      if (k < 0 || k >= static_cast<int>(i) || parent[k] >= 0) std::abort();
      parent[k] = static_cast<int>(i);
    }
  }
  check_structure(t.structure());  // std::invalid_argument escapes: a crash
  const int depth = t.depth();
  if (depth < 1 || depth > static_cast<int>(t.size())) std::abort();
  if (t.words().size() != t.num_leaves() || t.labels().size() != t.size()) std::abort();
  const std::string printed = t.to_string();
  if (parse_nary_tree(printed, "fuzz-printed").to_string() != printed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tapenet::fuzz::text_of(data, size);
  const auto error_in_text = [&](std::size_t first_line) {
    return [&text, first_line](const TreeParseError& e) {
      tapenet::fuzz::check_error_place(e, text, "fuzz.mrg", first_line);
    };
  };
  NaryTree one;
  const bool single = reading<TreeParseError>([&] { one = parse_nary_tree(text, "fuzz.mrg", kFirstLine); },
                                              error_in_text(kFirstLine));
  std::vector<NaryTree> trees;
  const bool many = reading<TreeParseError>([&] { trees = parse_nary_trees(text, "fuzz.mrg"); }, error_in_text(1));
  if (single != (many && trees.size() == 1)) std::abort();
  if (!many) return 0;
  if (single && one.to_string() != trees.front().to_string()) std::abort();
  std::string printed;
  for (const NaryTree& t : trees) {
    check_tree(t);
    printed += t.to_string() + "\n";
  }
  if (parse_nary_trees(printed, "fuzz-printed").size() != trees.size()) std::abort();
  return 0;
}
