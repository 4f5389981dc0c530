// N-ary bracketed trees (data/nary_tree.hpp) and tree structures (data/tree_structure.hpp):
// PTB and SST-style trees of any arity, post-order layout, multi-line and multi-tree text,
// every parse error with its file:line:column, a 100 000-deep tree without recursion, and the
// checks of check_structure, structure_from_parents and join_trees; SST dev read as n-ary trees
// equals the binary reader's (skipped without shared/).
#define BOOST_TEST_MODULE nary_tree
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/nary_tree.hpp"
#include "data/tree.hpp"
#include "data/tree_structure.hpp"

using namespace tapenet::data;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;
using Ints = std::vector<int>;

namespace {

// Parses `text` as "f.txt" (first line 7); expects a TreeParseError at line:column whose
// message contains `detail`.
template <class Fn>
void expect_error_at(Fn fn, std::size_t line, std::size_t column, const std::string& detail) {
  try {
    fn();
    BOOST_ERROR("no TreeParseError; expected " << line << ":" << column << " " << detail);
  } catch (const TreeParseError& e) {
    const std::string what = e.what();
    const std::string prefix = "f.txt:" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    BOOST_CHECK_MESSAGE(what.rfind(prefix, 0) == 0, "'" << what << "' should start with '" << prefix << "'");
    BOOST_CHECK_MESSAGE(what.find(detail) != std::string::npos, "'" << what << "' should mention '" << detail << "'");
    BOOST_TEST(e.file() == "f.txt");
    BOOST_TEST(e.line() == line);
    BOOST_TEST(e.column() == column);
  }
}

void expect_tree_error(const std::string& text, std::size_t column, const std::string& detail) {
  BOOST_TEST_CONTEXT("text: '" << text << "'") {
    expect_error_at([&] { parse_nary_tree(text, "f.txt", 7); }, 7, column, detail);
  }
}

// children before parents, root last, each node a child of at most one parent.
bool is_post_order(const NaryTree& t) {
  std::vector<int> parent(t.size(), -1);
  for (std::size_t i = 0; i < t.size(); ++i)
    for (int k : t.nodes[i].children) {
      if (k >= static_cast<int>(i) || parent[k] >= 0) return false;
      parent[k] = static_cast<int>(i);
    }
  return t.root == static_cast<int>(t.size()) - 1;
}

}  // namespace

// ---------------------------------------------------------------- valid trees

BOOST_AUTO_TEST_CASE(parses_a_ptb_tree_of_any_arity) {
  const std::string text = "(S (NP (DT the) (JJ big) (NN cat)) (VP (VBD sat)) (. .))";
  const NaryTree t = parse_nary_tree(text);
  BOOST_TEST(t.size() == 8u);
  BOOST_TEST(t.num_leaves() == 5u);
  BOOST_TEST(t.depth() == 3);
  BOOST_TEST(is_post_order(t));
  BOOST_TEST(t.words() == (Strings{"the", "big", "cat", "sat", "."}), boost::test_tools::per_element());
  // post-order: DT JJ NN NP VBD VP . S
  BOOST_TEST(t.labels() == (Strings{"DT", "JJ", "NN", "NP", "VBD", "VP", ".", "S"}), boost::test_tools::per_element());
  BOOST_TEST(t.root_node().children == (Ints{3, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(t.nodes[3].children == (Ints{0, 1, 2}), boost::test_tools::per_element());
  BOOST_TEST(t.nodes[5].children == (Ints{4}), boost::test_tools::per_element());  // unary
  BOOST_TEST(t.nodes[2].word == "cat");
  BOOST_TEST(t.nodes[2].is_leaf());
  BOOST_TEST(t.to_string() == text);

  const TreeStructure s = t.structure();
  BOOST_TEST(s.size() == 8u);
  BOOST_TEST(s.root() == 7);
  BOOST_TEST(s.order == (Ints{0, 1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
  BOOST_TEST(s.children[7] == (Ints{3, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(s.parents() == (Ints{3, 3, 3, 7, 5, 7, 7, -1}), boost::test_tools::per_element());
  BOOST_TEST(s.depth() == 3);
  BOOST_CHECK_NO_THROW(check_structure(s));
}

BOOST_AUTO_TEST_CASE(sst_labels_and_a_single_leaf) {
  const NaryTree t = parse_nary_tree("(3 (2 It) (4 (2 's) (3 great) (2 .)))");
  BOOST_TEST(t.labels() == (Strings{"2", "2", "3", "2", "4", "3"}), boost::test_tools::per_element());
  BOOST_TEST(t.root_node().label == "3");
  const NaryTree leaf = parse_nary_tree("(NN cat)");
  BOOST_TEST(leaf.size() == 1u);
  BOOST_TEST(leaf.root == 0);
  BOOST_TEST(leaf.depth() == 1);
  BOOST_TEST(leaf.words() == Strings{"cat"}, boost::test_tools::per_element());
  BOOST_TEST(leaf.to_string() == "(NN cat)");
}

BOOST_AUTO_TEST_CASE(unlabelled_outer_bracket_whitespace_and_escapes) {
  // PTB .mrg files: "( (S ...) )" spread over lines with tabs and CRLF.
  const NaryTree t = parse_nary_tree("( (S\r\n\t(NP (-LRB- -LRB-) (NNP A\\/B))\n  (VP (VBZ is)) ) )\n");
  BOOST_TEST(t.root_node().label == "");
  BOOST_TEST(t.root_node().children.size() == 1u);
  BOOST_TEST(t.words() == (Strings{"-LRB-", "A\\/B", "is"}), boost::test_tools::per_element());
  BOOST_TEST(t.to_string() == "((S (NP (-LRB- -LRB-) (NNP A\\/B)) (VP (VBZ is))))");
  BOOST_TEST(parse_nary_tree(t.to_string()).to_string() == t.to_string());  // round trip
}

BOOST_AUTO_TEST_CASE(several_trees_across_lines) {
  const std::vector<NaryTree> trees = parse_nary_trees("(A (B x) (C y)) (D z)\n\n(E\n  (F w)\n  (G v)\n  (H u))\n");
  BOOST_TEST_REQUIRE(trees.size() == 3u);
  BOOST_TEST(trees[0].to_string() == "(A (B x) (C y))");
  BOOST_TEST(trees[1].to_string() == "(D z)");
  BOOST_TEST(trees[2].to_string() == "(E (F w) (G v) (H u))");
  BOOST_TEST(trees[2].root_node().children.size() == 3u);
}

BOOST_AUTO_TEST_CASE(deep_trees_need_no_recursion) {
  const std::size_t depth = 100000;
  std::string text;
  for (std::size_t i = 0; i < depth - 1; ++i) text += "(X ";
  text += "(W w)";
  text += std::string(depth - 1, ')');
  const NaryTree t = parse_nary_tree(text);
  BOOST_TEST(t.size() == depth);
  BOOST_TEST(t.depth() == static_cast<int>(depth));
  BOOST_TEST(t.to_string() == text);
}

BOOST_AUTO_TEST_CASE(reads_a_file) {
  std::string pattern = (fs::temp_directory_path() / "tapenet-nary-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const std::string path = (fs::path(pattern) / "t.mrg").string();
  std::ofstream(path) << "(S (NP (PRP I)) (VP (VBP see)))\n(S (INTJ (UH hi)))\n";
  const std::vector<NaryTree> trees = read_nary_trees(path);
  BOOST_TEST(trees.size() == 2u);
  std::ofstream(path) << "(S (NP (PRP I))\n  (VP see (VBP see)))\n";
  try {
    read_nary_trees(path);
    BOOST_ERROR("no error");
  } catch (const TreeParseError& e) {
    BOOST_TEST(e.file() == path);
    BOOST_TEST(e.line() == 2u);
    BOOST_TEST(e.column() == 11u);
  }
  std::ofstream(path, std::ios::trunc).flush();
  BOOST_CHECK_THROW(read_nary_trees(path), TreeParseError);  // no tree
  BOOST_CHECK_THROW(read_nary_trees((fs::path(pattern) / "missing").string()), std::runtime_error);
  fs::remove_all(pattern);
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(unbalanced_parentheses) {
  expect_tree_error("(S (NP (DT the)) (VP (V sat))", 1, "never closed");  // the '(' of S
  expect_tree_error("(S (NP (DT the))))", 18, "')' without a matching '('");
  expect_tree_error(")", 1, "')' without a matching '('");
  expect_tree_error("(", 1, "never closed");
  // across lines: the '(' that is never closed is on the second line
  expect_error_at([] { parse_nary_trees("(A (B x))\n  (C (D y)\n", "f.txt"); }, 2, 3, "never closed");
}

BOOST_AUTO_TEST_CASE(empty_nodes) {
  expect_tree_error("()", 1, "empty node '()'");
  expect_tree_error("(S (NP) (VP (V sat)))", 4, "empty node: 'NP' has neither a word nor subtrees");
  expect_tree_error("(S ( ) (V sat))", 4, "empty node '()'");
  expect_tree_error("(NP (the))", 5, "empty node: 'the'");
}

BOOST_AUTO_TEST_CASE(words_in_the_wrong_place) {
  expect_tree_error("(NP the (NN cat))", 9, "subtree beside the word 'the'");
  expect_tree_error("(NP (DT the) cat)", 14, "word 'cat' beside subtrees");
  expect_tree_error("(NN big cat)", 9, "second word 'cat'");
  expect_tree_error("cat", 1, "text outside a tree: 'cat'");
}

BOOST_AUTO_TEST_CASE(trailing_garbage_and_no_tree) {
  expect_tree_error("(NN cat) dog", 10, "trailing garbage after the tree: 'dog'");
  expect_tree_error("(NN cat) (NN dog)", 10, "trailing garbage after the tree: '('");
  expect_tree_error("(NN cat))", 9, "')' without a matching '('");
  expect_tree_error("", 1, "no tree");
  expect_error_at([] { parse_nary_tree("   \n  ", "f.txt", 7); }, 8, 3, "no tree");
  expect_error_at([] { parse_nary_trees("(A x)\n(B y) stray (C z)", "f.txt"); }, 2, 7, "text outside a tree: 'stray'");
}

// ---------------------------------------------------------------- structures

BOOST_AUTO_TEST_CASE(structure_from_parents_is_an_iterative_post_order) {
  // 0 <- 1 <- 3, 0 <- 2, 4 a second root with child 5
  const TreeStructure s = structure_from_parents({-1, 0, 0, 1, -1, 4});
  BOOST_TEST(s.children[0] == (Ints{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(s.order == (Ints{3, 1, 2, 0, 5, 4}), boost::test_tools::per_element());
  BOOST_CHECK_NO_THROW(check_structure(s, false));
  BOOST_CHECK_THROW(check_structure(s, true), std::invalid_argument);  // two roots
  // a 200 000-long chain
  std::vector<int> chain(200000);
  for (std::size_t i = 0; i < chain.size(); ++i) chain[i] = static_cast<int>(i) - 1;
  const TreeStructure c = structure_from_parents(chain);
  BOOST_TEST(c.root() == 0);
  BOOST_TEST(c.order.front() == 199999);
  BOOST_TEST(c.depth() == 200000);
  BOOST_CHECK_NO_THROW(check_structure(c));
  BOOST_CHECK_THROW(structure_from_parents({-1, 2, 1}), std::invalid_argument);  // cycle 1 <-> 2
  BOOST_CHECK_THROW(structure_from_parents({-1, 5}), std::invalid_argument);     // out of range
}

BOOST_AUTO_TEST_CASE(check_structure_rejects_what_is_not_a_bottom_up_tree) {
  TreeStructure ok{{{}, {}, {0, 1}}, {0, 1, 2}};
  BOOST_CHECK_NO_THROW(check_structure(ok));
  auto rejects = [](TreeStructure s, bool single_root = true) {
    BOOST_CHECK_THROW(check_structure(s, single_root), std::invalid_argument);
  };
  rejects({{}, {}});
  rejects({{{}, {}, {0, 1}}, {0, 2, 1}});            // parent before child
  rejects({{{}, {}, {0, 1}}, {0, 1}});               // order too short
  rejects({{{}, {}, {0, 1}}, {0, 0, 2}});            // a node twice
  rejects({{{}, {0}, {0, 1}}, {0, 1, 2}});           // two parents
  rejects({{{}, {}, {0, 3}}, {0, 1, 2}});            // child out of range
  rejects({{{}, {1}, {0}}, {0, 1, 2}});              // own child
  rejects({{{}, {}, {0}}, {0, 1, 2}});               // two roots
  rejects({{{}, {}, {0, 1}}, {3, 1, 2}});            // order out of range
  BOOST_CHECK_NO_THROW(check_structure(TreeStructure{{{}, {}, {0}}, {0, 1, 2}}, false));
}

BOOST_AUTO_TEST_CASE(join_trees_offsets_the_nodes) {
  const TreeStructure a = parse_nary_tree("(A (B x) (C y))").structure();
  const TreeStructure b = structure_from_parents({1, -1});
  std::vector<std::size_t> offsets;
  const TreeStructure f = join_trees({a, b, a}, &offsets);
  BOOST_TEST(offsets == (std::vector<std::size_t>{0, 3, 5}), boost::test_tools::per_element());
  BOOST_TEST(f.size() == 8u);
  BOOST_TEST(f.children[2] == (Ints{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(f.children[4] == (Ints{3}), boost::test_tools::per_element());
  BOOST_TEST(f.children[7] == (Ints{5, 6}), boost::test_tools::per_element());
  BOOST_TEST(f.order == (Ints{0, 1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
  BOOST_CHECK_NO_THROW(check_structure(f, false));
  BOOST_TEST(join_trees({}).size() == 0u);
}

// The SST dev file read as n-ary trees (skipped when shared/ is absent): the same trees as the
// binary reader's (shared/data/README.md section 1: 1,101 trees, 41,447 nodes), written back
// identically, every internal node binary.
BOOST_AUTO_TEST_CASE(sst_dev_as_nary_trees) {
  const char* env = std::getenv("TAPENET_SST_DIR");
  const fs::path dir = env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared" / "data" / "sst";
  const fs::path path = dir / "dev.txt";
  if (!fs::exists(path)) {
    BOOST_TEST_MESSAGE("skipping SST dev: " << path << " not found (set TAPENET_SST_DIR)");
    return;
  }
  const std::vector<NaryTree> nary = read_nary_trees(path.string());
  const std::vector<Tree> binary = read_trees(path.string());
  BOOST_TEST_REQUIRE(nary.size() == 1101u);
  BOOST_TEST_REQUIRE(binary.size() == nary.size());
  std::size_t nodes = 0, mismatches = 0, not_binary = 0;
  for (std::size_t t = 0; t < nary.size(); ++t) {
    nodes += nary[t].size();
    mismatches += nary[t].to_string() != binary[t].to_string() || nary[t].words() != binary[t].words();
    for (const NaryNode& n : nary[t].nodes) not_binary += !n.is_leaf() && n.children.size() != 2;
  }
  BOOST_TEST(nodes == 41447u);
  BOOST_TEST(mismatches == 0u);
  BOOST_TEST(not_binary == 0u);
}
