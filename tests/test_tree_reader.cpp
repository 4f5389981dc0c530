// SST tree reader, label modes and vocabulary. The real-data checks use the counts of
// shared/data/README.md (section 1) and are skipped when shared/ is not there.
#define BOOST_TEST_MODULE tree_reader
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "data/tree.hpp"
#include "data/vocab.hpp"

using namespace tapenet::data;
namespace fs = std::filesystem;

namespace {

const fs::path kDataDir = fs::path(__FILE__).parent_path() / "data";
const std::string kNbsp = "\xC2\xA0";

// TAPENET_SST_DIR overrides the default shared/data/sst beside the repository.
fs::path sst_dir() {
  if (const char* env = std::getenv("TAPENET_SST_DIR")) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared" / "data" / "sst";
}

std::string fixture(const std::string& name) { return (kDataDir / name).string(); }

struct TempDir {
  fs::path dir;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tapenet-tree-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }
};

// The exact post-order layout: a subtree occupies a contiguous index range ending at its
// root, the right child's range right before the parent, the left child's before that.
bool is_exact_post_order(const Tree& t) {
  const int n = static_cast<int>(t.size());
  if (n == 0 || t.root != n - 1) return false;
  std::vector<int> subtree_size(n, 1);
  for (int i = 0; i < n; ++i) {
    const Node& node = t.nodes[i];
    if (node.is_leaf()) {
      if (node.right != -1) return false;
      continue;
    }
    if (node.right != i - 1 || node.left != i - 1 - subtree_size[node.right]) return false;
    if (!node.word.empty()) return false;
    subtree_size[i] = 1 + subtree_size[node.left] + subtree_size[node.right];
  }
  return subtree_size[n - 1] == n;
}

// Runs `fn`, expects a TreeParseError whose message starts with `prefix` and contains `detail`.
template <class Fn>
void expect_error(Fn fn, const std::string& prefix, const std::string& detail) {
  try {
    fn();
    BOOST_ERROR("no TreeParseError; expected " << prefix << detail);
  } catch (const TreeParseError& e) {
    const std::string what = e.what();
    BOOST_CHECK_MESSAGE(what.rfind(prefix, 0) == 0, "'" << what << "' should start with '" << prefix << "'");
    BOOST_CHECK_MESSAGE(what.find(detail) != std::string::npos,
                        "'" << what << "' should mention '" << detail << "'");
  }
}

// Parses `line` as line 7 of "f.txt"; the error must be at `column`.
void expect_parse_error(const std::string& line, std::size_t column, const std::string& detail) {
  BOOST_TEST_CONTEXT("line: '" << line << "'") {
    expect_error([&] { parse_tree(line, "f.txt", 7); }, "f.txt:7:" + std::to_string(column) + ": ",
                 detail);
    try {
      parse_tree(line, "f.txt", 7);
    } catch (const TreeParseError& e) {
      BOOST_TEST(e.file() == "f.txt");
      BOOST_TEST(e.line() == 7u);
      BOOST_TEST(e.column() == column);
    }
  }
}

template <class E, class Fn>
void expect_message(Fn fn, const std::string& expected_start) {
  try {
    fn();
    BOOST_ERROR("no exception; expected " << expected_start);
  } catch (const E& e) {
    const std::string what = e.what();
    BOOST_CHECK_MESSAGE(what.rfind(expected_start, 0) == 0,
                        "'" << what << "' should start with '" << expected_start << "'");
  }
}

}  // namespace

// ---------------------------------------------------------------- valid trees

BOOST_AUTO_TEST_CASE(parses_labels_words_and_structure) {
  const std::string line = "(3 (2 It) (4 (4 (2 's) (3 great)) (2 .)))";
  const Tree t = parse_tree(line);
  BOOST_TEST(t.size() == 7u);
  BOOST_TEST(t.num_leaves() == 4u);
  BOOST_TEST(t.depth() == 4);
  BOOST_TEST(t.root_label() == 3);
  BOOST_TEST(t.words() == (std::vector<std::string>{"It", "'s", "great", "."}),
             boost::test_tools::per_element());
  BOOST_TEST(is_exact_post_order(t));

  const Node& root = t.root_node();
  const Node& it = t.nodes[root.left];
  BOOST_TEST(it.is_leaf());
  BOOST_TEST(it.word == "It");
  BOOST_TEST(it.label == 2);
  const Node& rest = t.nodes[root.right];
  BOOST_TEST(rest.label == 4);
  BOOST_TEST(t.nodes[rest.left].label == 4);
  BOOST_TEST(t.nodes[t.nodes[rest.left].right].word == "great");
  BOOST_TEST(t.nodes[t.nodes[rest.left].right].label == 3);
  BOOST_TEST(t.nodes[rest.right].word == ".");

  // Stored post-order: It 's great (4 's great) . (4 ...) root.
  const std::array<int, 7> labels{2, 2, 3, 4, 2, 4, 3};
  for (std::size_t i = 0; i < labels.size(); ++i) BOOST_TEST(t.nodes[i].label == labels[i]);
  BOOST_TEST(t.post_order() == (std::vector<int>{0, 1, 2, 3, 4, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(t.to_string() == line);
}

BOOST_AUTO_TEST_CASE(single_leaf_tree) {
  const Tree t = parse_tree("(4 Wow)");
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST(t.root == 0);
  BOOST_TEST(t.depth() == 1);
  BOOST_TEST(t.root_node().word == "Wow");
  BOOST_TEST(t.to_string() == "(4 Wow)");
}

BOOST_AUTO_TEST_CASE(extra_spaces_are_accepted_and_normalised) {
  const Tree t = parse_tree("  (3  (2 a)(2 b) ) ");
  BOOST_TEST(t.to_string() == "(3 (2 a) (2 b))");
  BOOST_TEST(is_exact_post_order(t));
}

BOOST_AUTO_TEST_CASE(nbsp_stays_inside_a_word) {
  const std::string word = "8" + kNbsp + "1\\/2";
  const std::string line = "(2 (2 " + word + ") (2 hours))";
  const Tree t = parse_tree(line);
  BOOST_TEST(t.size() == 3u);
  BOOST_TEST(t.words() == (std::vector<std::string>{word, "hours"}), boost::test_tools::per_element());
  BOOST_TEST(t.to_string() == line);
}

BOOST_AUTO_TEST_CASE(ptb_escapes_are_kept_as_written) {
  const std::string line = "(2 (2 -LRB-) (2 (2 and\\/or) (2 -RRB-)))";
  const Tree t = parse_tree(line);
  BOOST_TEST(t.words() == (std::vector<std::string>{"-LRB-", "and\\/or", "-RRB-"}),
             boost::test_tools::per_element());
  BOOST_TEST(t.to_string() == line);
}

BOOST_AUTO_TEST_CASE(non_ascii_letters_and_all_labels) {
  const std::string line = "(0 (1 café) (4 (3 niño) (2 über)))";
  const Tree t = parse_tree(line);
  BOOST_TEST(t.words() == (std::vector<std::string>{"café", "niño", "über"}), boost::test_tools::per_element());
  BOOST_TEST(t.to_string() == line);
}

BOOST_AUTO_TEST_CASE(deep_degenerate_trees_need_no_recursion) {
  // Left-branching, 1000 internal levels: (1 (1 ... (2 w0) (3 w1)) ... (3 w1000)).
  std::string line = "(2 w0)";
  for (int i = 1; i <= 1000; ++i) line = "(1 " + line + " (3 w" + std::to_string(i) + "))";
  const Tree t = parse_tree(line);
  BOOST_TEST(t.size() == 2001u);
  BOOST_TEST(t.depth() == 1001);
  BOOST_TEST(t.words().front() == "w0");
  BOOST_TEST(t.words().back() == "w1000");
  BOOST_TEST(is_exact_post_order(t));
  BOOST_TEST(t.to_string() == line);

  // Right-branching and far deeper than any call stack would allow.
  std::string sentence;
  for (int i = 0; i < 100000; ++i) sentence += "w" + std::to_string(i) + " ";
  const Tree deep = binarize_sentence(sentence);
  BOOST_TEST(deep.depth() == 100000);
  Tree labelled = deep;
  for (Node& n : labelled.nodes) n.label = 2;
  const std::string text = labelled.to_string();
  const Tree reparsed = parse_tree(text);
  BOOST_TEST(reparsed.size() == deep.size());
  BOOST_TEST(reparsed.depth() == 100000);
  BOOST_TEST(is_exact_post_order(reparsed));
  BOOST_TEST(reparsed.to_string() == text);
}

// ---------------------------------------------------------------- malformed trees

BOOST_AUTO_TEST_CASE(empty_line) {
  expect_parse_error("", 1, "empty line");
  expect_parse_error("   ", 1, "empty line");
}

BOOST_AUTO_TEST_CASE(unbalanced_brackets) {
  expect_parse_error("(2 a", 5, "unbalanced brackets: '(' at column 1 is never closed");
  expect_parse_error("(3 (2 a) (2 b)", 15, "'(' at column 1 is never closed");
  expect_parse_error("(3 (2 a) (2 b", 14, "'(' at column 10 is never closed");
  expect_parse_error("(", 2, "'(' at column 1 is never closed");
  expect_parse_error("(2 a))", 6, "unbalanced brackets: ')' without a matching '('");
  expect_parse_error(")", 1, "unbalanced brackets");
}

BOOST_AUTO_TEST_CASE(missing_label) {
  expect_parse_error("( (2 a) (2 b))", 3, "missing label");
  expect_parse_error("()", 2, "missing label");
  expect_parse_error("(3 (2 a) ())", 11, "missing label");
}

BOOST_AUTO_TEST_CASE(label_not_in_range) {
  expect_parse_error("(7 a)", 2, "label '7' is not an integer in 0-4");
  expect_parse_error("(x a)", 2, "label 'x' is not an integer in 0-4");
  expect_parse_error("(22 a)", 2, "label '22'");
  expect_parse_error("(3 (2 a) (-1 b))", 11, "label '-1' is not an integer in 0-4");
  expect_parse_error("(3 (2 a) (2.5 b))", 11, "label '2.5'");
}

BOOST_AUTO_TEST_CASE(wrong_number_of_children) {
  expect_parse_error("(3 (2 a))", 9, "node at column 1 has 1 child");
  expect_parse_error("(3 (2 a) (1 (2 b)))", 18, "node at column 10 has 1 child");
  expect_parse_error("(3 (2 a) (2 b) (2 c))", 16, "node at column 1 has more than 2 children");
}

BOOST_AUTO_TEST_CASE(leaf_without_word) {
  expect_parse_error("(2 )", 4, "leaf without a word");
  expect_parse_error("(3 (2) (2 b))", 6, "leaf without a word: node at column 4");
}

BOOST_AUTO_TEST_CASE(words_in_the_wrong_place) {
  expect_parse_error("(2 a b)", 6, "second word 'b'");
  expect_parse_error("(3 a (2 b))", 6, "leaf 'a' (node at column 1) cannot also have subtrees");
  expect_parse_error("(3 (2 a) b)", 10, "word 'b' next to subtrees");
  expect_parse_error("hello", 1, "expected '(' to start a tree");
}

BOOST_AUTO_TEST_CASE(trailing_garbage_after_root) {
  expect_parse_error("(2 a) (2 b)", 7, "trailing garbage after the root");
  expect_parse_error("(2 a) x", 7, "trailing garbage after the root: 'x'");
  expect_parse_error("(2 a)x", 6, "trailing garbage");
}

BOOST_AUTO_TEST_CASE(error_is_a_runtime_error_with_position) {
  try {
    parse_tree("(9 a)", "dir/trees.txt", 12);
    BOOST_ERROR("no error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "dir/trees.txt:12:2: label '9' is not an integer in 0-4");
  }
}

// ---------------------------------------------------------------- files

BOOST_AUTO_TEST_CASE(reads_a_file) {
  const std::vector<Tree> trees = read_trees(fixture("tree_small.txt"));
  BOOST_REQUIRE(trees.size() == 3u);
  BOOST_TEST(trees[0].root_label() == 3);
  BOOST_TEST(trees[1].words() == (std::vector<std::string>{"8" + kNbsp + "1\\/2", "hours", "-LRB-dull-RRB-"}),
             boost::test_tools::per_element());
  BOOST_TEST(trees[2].to_string() == "(2 Fine)");

  std::ifstream in(fixture("tree_small.txt"), std::ios::binary);
  std::string line;
  for (const Tree& t : trees) {
    BOOST_REQUIRE(std::getline(in, line));
    BOOST_TEST(t.to_string() == line);
  }
}

BOOST_AUTO_TEST_CASE(final_newline_is_optional) {
  const std::vector<Tree> trees = read_trees(fixture("tree_no_final_newline.txt"));
  BOOST_REQUIRE(trees.size() == 2u);
  BOOST_TEST(trees[1].to_string() == "(0 c)");
}

BOOST_AUTO_TEST_CASE(file_errors_name_file_and_line) {
  const std::string blank = fixture("tree_blank_line.txt");
  expect_error([&] { read_trees(blank); }, blank + ":3:1: ", "empty line");
  const std::string bad = fixture("tree_bad_label.txt");
  expect_error([&] { read_trees(bad); }, bad + ":2:11: ", "label '9'");
  const std::string empty = fixture("tree_empty.txt");
  expect_error([&] { read_trees(empty); }, empty + ":1:1: ", "holds no tree");

  TempDir tmp;
  const std::string two_newlines = tmp.write("two.txt", "(2 a)\n\n");
  expect_error([&] { read_trees(two_newlines); }, two_newlines + ":2:1: ", "empty line");
  const std::string missing = (tmp.dir / "missing.txt").string();
  expect_message<std::runtime_error>([&] { read_trees(missing); }, missing + ": cannot open");
}

// ---------------------------------------------------------------- sentences and labels

BOOST_AUTO_TEST_CASE(binarize_sentence_is_right_branching) {
  const Tree t = binarize_sentence(" a b\tc  d\n");
  BOOST_TEST(t.words() == (std::vector<std::string>{"a", "b", "c", "d"}), boost::test_tools::per_element());
  BOOST_TEST(t.to_string() == "(-1 (-1 a) (-1 (-1 b) (-1 (-1 c) (-1 d))))");
  BOOST_TEST(t.depth() == 4);
  BOOST_TEST(is_exact_post_order(t));
  for (const Node& n : t.nodes) BOOST_TEST(n.label == kUnknownLabel);

  const Tree one = binarize_sentence("alone");
  BOOST_TEST(one.size() == 1u);
  BOOST_TEST(one.to_string() == "(-1 alone)");
  // Only ASCII whitespace splits: U+00A0 stays inside the token.
  BOOST_TEST(binarize_sentence("8" + kNbsp + "1\\/2").size() == 1u);
  BOOST_CHECK_THROW(binarize_sentence(" \t\n"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(label_modes) {
  BOOST_TEST(binary_label(0) == 0);
  BOOST_TEST(binary_label(1) == 0);
  BOOST_TEST(binary_label(2) == kDroppedLabel);
  BOOST_TEST(binary_label(3) == 1);
  BOOST_TEST(binary_label(4) == 1);
  BOOST_CHECK_THROW(binary_label(5), std::invalid_argument);
  BOOST_CHECK_THROW(binary_label(-1), std::invalid_argument);
  BOOST_TEST(num_classes(LabelMode::Fine) == 5);
  BOOST_TEST(num_classes(LabelMode::Binary) == 2);
  BOOST_TEST(mode_label(3, LabelMode::Fine) == 3);
  BOOST_TEST(mode_label(3, LabelMode::Binary) == 1);

  std::vector<Tree> trees;
  for (const char* line : {"(0 a)", "(2 b)", "(4 (2 c) (2 d))", "(2 (4 e) (0 f))", "(1 g)"})
    trees.push_back(parse_tree(line));
  const std::vector<Tree> kept = binary_root_subset(trees);
  BOOST_REQUIRE(kept.size() == 3u);
  BOOST_TEST(kept[0].to_string() == "(0 a)");
  BOOST_TEST(kept[1].to_string() == "(4 (2 c) (2 d))");  // node labels stay fine-grained
  BOOST_TEST(kept[2].to_string() == "(1 g)");
}

// ---------------------------------------------------------------- vocabulary

BOOST_AUTO_TEST_CASE(vocab_cutoff_unk_and_order) {
  const WordCounts counts{{"the", 5}, {"a", 5}, {"dog", 2}, {"cat", 2}, {"zebra", 1}, {"<unk>", 9}};
  const Vocab v = Vocab::build(counts, 2);
  BOOST_TEST(v.words() == (std::vector<std::string>{"<unk>", "a", "the", "cat", "dog"}),
             boost::test_tools::per_element());
  BOOST_TEST(v.size() == 5u);
  BOOST_TEST(v.index("the") == 2);
  BOOST_TEST(v.index("zebra") == Vocab::kUnkIndex);
  BOOST_TEST(v.index("never seen") == 0);
  BOOST_TEST(v.index("<unk>") == 0);
  BOOST_TEST(v.contains("cat"));
  BOOST_TEST(!v.contains("zebra"));
  BOOST_TEST(v.word(0) == "<unk>");
  BOOST_TEST(v.word(4) == "dog");
  BOOST_CHECK_THROW(v.word(5), std::out_of_range);
  BOOST_CHECK_THROW(v.word(-1), std::out_of_range);

  BOOST_TEST(Vocab::build(counts, 1).word(5) == "zebra");
  BOOST_TEST(Vocab::build(counts, 0).size() == 6u);
  BOOST_TEST(Vocab::build(counts, 6).size() == 1u);
  BOOST_TEST(Vocab().size() == 1u);
}

BOOST_AUTO_TEST_CASE(vocab_order_does_not_depend_on_insertion_order) {
  WordCounts forward, backward;
  for (int i = 0; i < 200; ++i) forward["w" + std::to_string(i)] = static_cast<std::size_t>(i % 7);
  for (int i = 199; i >= 0; --i) backward["w" + std::to_string(i)] = static_cast<std::size_t>(i % 7);
  backward.rehash(1024);
  const Vocab a = Vocab::build(forward, 1), b = Vocab::build(backward, 1);
  BOOST_TEST(a.words() == b.words(), boost::test_tools::per_element());
  BOOST_TEST(a.word(1) == "w104");  // count 6, smallest string among w6, w13, ... w97, w104, ...
}

BOOST_AUTO_TEST_CASE(count_words_of_trees) {
  const std::vector<Tree> trees{parse_tree("(3 (2 a) (2 (2 b) (2 a)))"), parse_tree("(1 a)")};
  const WordCounts counts = count_words(trees);
  BOOST_TEST(counts.size() == 2u);
  BOOST_TEST(counts.at("a") == 3u);
  BOOST_TEST(counts.at("b") == 1u);
}

BOOST_AUTO_TEST_CASE(vocab_save_load_round_trip) {
  TempDir tmp;
  const WordCounts counts{{"-LRB-", 3}, {"and\\/or", 2}, {"8" + kNbsp + "1\\/2", 2}, {"café", 1}, {"x", 4}};
  const Vocab v = Vocab::build(counts, 1);
  const std::string path = (tmp.dir / "vocab.txt").string();
  v.save(path);
  const Vocab loaded = Vocab::load(path);
  BOOST_TEST(loaded.words() == v.words(), boost::test_tools::per_element());
  for (const std::string& w : v.words()) BOOST_TEST(loaded.index(w) == v.index(w));

  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  BOOST_TEST(text == "<unk>\nx\n-LRB-\n8" + kNbsp + "1\\/2\nand\\/or\ncafé\n");
}

BOOST_AUTO_TEST_CASE(vocab_load_errors_name_file_and_line) {
  TempDir tmp;
  const std::string no_unk = tmp.write("a.txt", "the\n<unk>\n");
  expect_message<VocabError>([&] { Vocab::load(no_unk); }, no_unk + ":1: first token must be <unk>");
  const std::string empty = tmp.write("b.txt", "");
  expect_message<VocabError>([&] { Vocab::load(empty); }, empty + ":1: ");
  const std::string blank = tmp.write("c.txt", "<unk>\nthe\n\na\n");
  expect_message<VocabError>([&] { Vocab::load(blank); }, blank + ":3: empty token");
  const std::string dup = tmp.write("d.txt", "<unk>\nthe\na\nthe\n");
  expect_message<VocabError>([&] { Vocab::load(dup); }, dup + ":4: duplicate token 'the'");
  const std::string unk_again = tmp.write("e.txt", "<unk>\n<unk>\n");
  expect_message<VocabError>([&] { Vocab::load(unk_again); }, unk_again + ":2: duplicate token");
  const std::string missing = (tmp.dir / "missing.txt").string();
  expect_message<VocabError>([&] { Vocab::load(missing); }, missing + ": cannot open");
  Vocab v;
  expect_message<VocabError>([&] { v.save((tmp.dir / "no" / "dir.txt").string()); },
                             (tmp.dir / "no" / "dir.txt").string() + ": cannot open");
}

// ---------------------------------------------------------------- the real SST files

namespace {

struct SplitStats {
  std::size_t trees = 0, nodes = 0, tokens = 0, binary = 0;
  std::array<std::size_t, 5> roots{};
};

SplitStats stats_of(const std::vector<Tree>& trees) {
  SplitStats s;
  s.trees = trees.size();
  for (const Tree& t : trees) {
    s.nodes += t.size();
    s.tokens += t.num_leaves();
    ++s.roots.at(static_cast<std::size_t>(t.root_label()));
  }
  s.binary = binary_root_subset(trees).size();
  return s;
}

// Every line parses back to itself and every tree has the exact post-order layout.
void check_round_trip(const fs::path& path, const std::vector<Tree>& trees) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::size_t mismatches = 0, bad_layout = 0;
  for (const Tree& t : trees) {
    BOOST_REQUIRE(std::getline(in, line));
    mismatches += t.to_string() != line;
    bad_layout += !is_exact_post_order(t);
  }
  BOOST_TEST(mismatches == 0u);
  BOOST_TEST(bad_layout == 0u);
}

void check_split(const std::string& name, const SplitStats& expected) {
  const fs::path path = sst_dir() / (name + ".txt");
  if (!fs::exists(path)) {
    BOOST_TEST_MESSAGE("skipping SST " << name << ": " << path << " not found (set TAPENET_SST_DIR)");
    return;
  }
  BOOST_TEST_CONTEXT("SST " << name) {
    const std::vector<Tree> trees = read_trees(path.string());
    const SplitStats got = stats_of(trees);
    BOOST_TEST(got.trees == expected.trees);
    BOOST_TEST(got.nodes == expected.nodes);
    BOOST_TEST(got.tokens == expected.tokens);
    BOOST_TEST(got.roots == expected.roots, boost::test_tools::per_element());
    BOOST_TEST(got.binary == expected.binary);
    check_round_trip(path, trees);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(sst_train) { check_split("train", {8544, 318582, 163563, 6920, {1092, 2218, 1624, 2322, 1288}}); }
BOOST_AUTO_TEST_CASE(sst_dev) { check_split("dev", {1101, 41447, 21274, 872, {139, 289, 229, 279, 165}}); }
BOOST_AUTO_TEST_CASE(sst_test) { check_split("test", {2210, 82600, 42405, 1821, {279, 633, 389, 510, 399}}); }

BOOST_AUTO_TEST_CASE(sst_train_nbsp_tokens_and_vocab) {
  const fs::path path = sst_dir() / "train.txt";
  if (!fs::exists(path)) {
    BOOST_TEST_MESSAGE("skipping SST vocabulary: " << path << " not found (set TAPENET_SST_DIR)");
    return;
  }
  const std::vector<Tree> trees = read_trees(path.string());
  const WordCounts counts = count_words(trees);
  std::size_t with_nbsp = 0, total = 0;
  for (const auto& [word, count] : counts) {
    with_nbsp += word.find(kNbsp) != std::string::npos ? count : 0;
    total += count;
  }
  BOOST_TEST(with_nbsp == 3u);  // README: three tokens in train.txt hold U+00A0
  BOOST_TEST(total == 163563u);

  const Vocab all = Vocab::build(counts, 1);
  BOOST_TEST(all.size() == counts.size() + 1);
  BOOST_TEST(all.contains("-LRB-"));
  BOOST_TEST(!all.contains("("));
  const Vocab frequent = Vocab::build(counts, 2);
  BOOST_TEST(frequent.size() < all.size());
  std::size_t wrongly_kept = 0, wrongly_dropped = 0;
  for (const auto& [word, count] : counts) {
    wrongly_kept += count < 2 && frequent.contains(word);
    wrongly_dropped += count >= 2 && !frequent.contains(word);
  }
  BOOST_TEST(wrongly_kept == 0u);
  BOOST_TEST(wrongly_dropped == 0u);
}

BOOST_AUTO_TEST_CASE(lowercase_words_touches_only_ascii_capitals) {
  Tree tree = parse_tree("(3 (2 The) (3 (2 Caf\xC3\x89) (3 GOOD)))");
  lowercase_words(tree);
  const std::vector<std::string> expected = {"the", "caf\xC3\x89", "good"};
  BOOST_TEST(tree.words() == expected, boost::test_tools::per_element());
  BOOST_TEST(tree.root_label() == 3);
}
