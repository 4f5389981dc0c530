// CoNLL-U reader (data/conllu.hpp): syntactic words with comments, multiword-token ranges and
// empty nodes skipped, the dependency tree as children lists and a bottom-up order, every error
// with its file:line:column, and counts on UD English EWT dev (skipped when shared/ is absent:
// 2,001 sentences as its README says; 25,147 syntactic words, 359 multiword tokens and 2,001
// roots counted with awk over the 10-column lines whose ID is an integer / a range / HEAD 0),
// and the same counts on train and test.
#define BOOST_TEST_MODULE conllu
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "data/conllu.hpp"

using namespace tapenet::data;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;
using Ints = std::vector<int>;

namespace {

// TAPENET_UD_DIR overrides the default shared/data/ud-ewt beside the repository.
fs::path ud_dir() {
  if (const char* env = std::getenv("TAPENET_UD_DIR")) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared" / "data" / "ud-ewt";
}

// One 10-column line: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC.
std::string line(const std::string& id, const std::string& form, const std::string& upos, const std::string& head,
                 const std::string& deprel) {
  return id + "\t" + form + "\t" + form + "\t" + upos + "\t" + upos + "x\t_\t" + head + "\t" + deprel + "\t_\t_\n";
}

// "I don't go ." with the multiword token don't = do + n't, an empty node 3.1 and comments.
const std::string kSentence = "# sent_id = s1\n# text = I don't go .\n" + line("1", "I", "PRON", "4", "nsubj") +
                              line("2-3", "don't", "_", "_", "_") + line("2", "do", "AUX", "4", "aux") +
                              line("3", "n't", "PART", "4", "advmod") + line("4", "go", "VERB", "0", "root") +
                              line("4.1", "went", "VERB", "_", "_") + line("5", ".", "PUNCT", "4", "punct") + "\n";

// A sentence whose word lines are `words`, as lines 1.. of "f.conllu"; expects a ConlluError at
// line:column whose message contains `detail`.
void expect_error(const std::string& text, std::size_t line_no, std::size_t column, const std::string& detail,
                  const ConlluOptions& options = {}) {
  BOOST_TEST_CONTEXT("text:\n" << text) {
    try {
      parse_conllu(text, "f.conllu", options);
      BOOST_ERROR("no ConlluError; expected " << line_no << ":" << column << " " << detail);
    } catch (const ConlluError& e) {
      const std::string what = e.what();
      const std::string prefix = "f.conllu:" + std::to_string(line_no) + ":" + std::to_string(column) + ": ";
      BOOST_CHECK_MESSAGE(what.rfind(prefix, 0) == 0, "'" << what << "' should start with '" << prefix << "'");
      BOOST_CHECK_MESSAGE(what.find(detail) != std::string::npos, "'" << what << "' should mention '" << detail << "'");
      BOOST_TEST(e.line() == line_no);
      BOOST_TEST(e.column() == column);
    }
  }
}

// The HEAD field's column in a line built by line(id, form, upos, ...).
std::size_t head_column(const std::string& id, const std::string& form, const std::string& upos) {
  return id.size() + 1 + 2 * (form.size() + 1) + upos.size() + 1 + upos.size() + 2 + 2 + 1;
}

}  // namespace

// ---------------------------------------------------------------- valid input

BOOST_AUTO_TEST_CASE(words_skip_comments_multiword_ranges_and_empty_nodes) {
  const std::vector<ConlluSentence> s = parse_conllu(kSentence + kSentence);
  BOOST_TEST_REQUIRE(s.size() == 2u);
  const ConlluSentence& a = s[0];
  BOOST_TEST(a.size() == 5u);
  BOOST_TEST(a.forms() == (Strings{"I", "do", "n't", "go", "."}), boost::test_tools::per_element());
  BOOST_TEST(a.comments == (Strings{"# sent_id = s1", "# text = I don't go ."}), boost::test_tools::per_element());
  BOOST_TEST(a.comment("sent_id") == "s1");
  BOOST_TEST(a.comment("text") == "I don't go .");
  BOOST_TEST(a.comment("newdoc id") == "");
  BOOST_TEST_REQUIRE(a.multiword.size() == 1u);
  BOOST_TEST(a.multiword[0].first == 2);
  BOOST_TEST(a.multiword[0].last == 3);
  BOOST_TEST(a.multiword[0].form == "don't");
  const ConlluWord& w = a.words[2];
  BOOST_TEST(w.id == 3);
  BOOST_TEST(w.form == "n't");
  BOOST_TEST(w.lemma == "n't");
  BOOST_TEST(w.upos == "PART");
  BOOST_TEST(w.xpos == "PARTx");
  BOOST_TEST(w.feats == "_");
  BOOST_TEST(w.head == 4);
  BOOST_TEST(w.deprel == "advmod");
  BOOST_TEST(w.line == 6u);
  BOOST_TEST(a.line == 1u);
  BOOST_TEST(s[1].line == 11u);
  BOOST_TEST(s[1].words[0].line == 13u);
  BOOST_TEST(a.root() == 3);
}

BOOST_AUTO_TEST_CASE(dependency_tree_children_and_bottom_up_order) {
  const ConlluSentence s = parse_conllu(kSentence).at(0);
  const TreeStructure t = s.tree();
  BOOST_TEST(t.size() == 5u);
  BOOST_TEST(t.children[3] == (Ints{0, 1, 2, 4}), boost::test_tools::per_element());  // go: I do n't .
  for (int k : {0, 1, 2, 4}) BOOST_TEST(t.children[k].empty());
  BOOST_TEST(t.order == (Ints{0, 1, 2, 4, 3}), boost::test_tools::per_element());
  BOOST_TEST(t.root() == 3);
  BOOST_TEST(t.depth() == 2);
  BOOST_CHECK_NO_THROW(check_structure(t));

  // A deeper one: 1 <- 2 <- 3 (root), 4 <- 3, 5 <- 4.
  const std::string text = line("1", "a", "X", "2", "d") + line("2", "b", "X", "3", "d") + line("3", "c", "X", "0", "root") +
                           line("4", "d", "X", "3", "d") + line("5", "e", "X", "4", "d");
  const TreeStructure u = parse_conllu(text).at(0).tree();
  BOOST_TEST(u.order == (Ints{0, 1, 4, 3, 2}), boost::test_tools::per_element());
  BOOST_TEST(u.parents() == (Ints{1, 2, -1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(u.depth() == 3);
}

BOOST_AUTO_TEST_CASE(crlf_extra_blank_lines_and_no_final_blank_line) {
  std::string crlf;
  for (char c : kSentence) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const std::string text = "\n\n" + crlf + "\r\n\n" + kSentence.substr(0, kSentence.size() - 1);  // no final blank line
  const std::vector<ConlluSentence> s = parse_conllu(text);
  BOOST_TEST_REQUIRE(s.size() == 2u);
  BOOST_TEST(s[0].words[4].form == ".");
  BOOST_TEST(s[0].words[4].deprel == "punct");
  BOOST_TEST(s[0].comment("text") == "I don't go .");
  BOOST_TEST(s[1].forms() == s[0].forms(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(several_roots_when_allowed_make_a_forest) {
  const std::string text = line("1", "Hi", "INTJ", "0", "root") + line("2", "there", "ADV", "1", "advmod") +
                           line("3", "Go", "VERB", "0", "root") + "\n";
  expect_error(text, 3, head_column("3", "Go", "VERB"), "several roots: words 1 and 3 have HEAD 0");
  const ConlluSentence s = parse_conllu(text, "f.conllu", ConlluOptions().with_single_root(false)).at(0);
  const TreeStructure t = s.tree();
  BOOST_TEST(t.order == (Ints{1, 0, 2}), boost::test_tools::per_element());
  BOOST_TEST(s.root() == 0);
  BOOST_CHECK_NO_THROW(check_structure(t, false));
  BOOST_CHECK_THROW(check_structure(t, true), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_long_chain_needs_no_recursion) {
  std::string text;
  const int n = 20000;
  for (int i = 1; i <= n; ++i) text += line(std::to_string(i), "w", "X", std::to_string(i - 1), "dep");
  const TreeStructure t = parse_conllu(text).at(0).tree();
  BOOST_TEST(t.size() == static_cast<std::size_t>(n));
  BOOST_TEST(t.depth() == n);
  BOOST_TEST(t.order.front() == n - 1);
  BOOST_TEST(t.root() == 0);
}

BOOST_AUTO_TEST_CASE(form_counts_and_ids) {
  const std::vector<ConlluSentence> s = parse_conllu(kSentence + kSentence);
  const WordCounts counts = count_forms(s);
  BOOST_TEST(counts.size() == 5u);
  BOOST_TEST(counts.at("n't") == 2u);
  BOOST_TEST(counts.count("don't") == 0u);  // a multiword token is no word
  WordCounts some = counts;
  some.erase("go");
  const Vocab vocab = Vocab::build(some);
  const std::vector<std::int64_t> ids = form_ids(s[0], vocab);
  BOOST_TEST_REQUIRE(ids.size() == 5u);
  BOOST_TEST(ids[3] == Vocab::kUnkIndex);  // "go"
  for (std::size_t i : {0, 1, 2, 4}) BOOST_TEST(vocab.word(static_cast<int>(ids[i])) == s[0].words[i].form);
}

BOOST_AUTO_TEST_CASE(reads_a_file) {
  std::string pattern = (fs::temp_directory_path() / "tapenet-conllu-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const std::string path = (fs::path(pattern) / "x.conllu").string();
  std::ofstream(path, std::ios::binary) << kSentence << kSentence;
  BOOST_TEST(read_conllu(path).size() == 2u);
  std::ofstream(path, std::ios::binary) << kSentence << line("1", "x", "X", "7", "root");
  try {
    read_conllu(path);
    BOOST_ERROR("no error");
  } catch (const ConlluError& e) {
    BOOST_TEST(e.file() == path);
    BOOST_TEST(e.line() == 11u);
  }
  BOOST_CHECK_THROW(read_conllu((fs::path(pattern) / "missing.conllu").string()), std::runtime_error);
  fs::remove_all(pattern);
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(wrong_column_count) {
  expect_error("1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n", 1, 26, "expected 10 tab-separated columns, found 9");
  expect_error("1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\textra\n", 1, 29, "found 11");
  expect_error("# c\n1 I I PRON PRP _ 0 root _ _\n", 2, 28, "found 1");  // spaces are no separators
  expect_error(line("1", "I", "PRON", "0", "root") + " \n", 2, 2, "found 1");  // a blank-looking line
}

BOOST_AUTO_TEST_CASE(malformed_ids) {
  expect_error(line("x", "I", "PRON", "0", "root"), 1, 1, "ID 'x' is not a number");
  expect_error(line("1a", "I", "PRON", "0", "root"), 1, 1, "ID '1a' is not a number");
  expect_error(line("", "I", "PRON", "0", "root"), 1, 1, "ID '' is not a number");
  expect_error(line("1-x", "I", "_", "_", "_"), 1, 1, "multiword token ID '1-x' is not a range");
  expect_error(line("2-1", "I", "_", "_", "_"), 1, 1, "empty or reversed");
  expect_error(line("1", "I", "PRON", "0", "root") + line("3-4", "ab", "_", "_", "_"), 2, 1,
               "multiword token 3-4 out of sequence: the next word is 2");
  expect_error(line("1", "I", "PRON", "0", "root") + line("1.x", "e", "_", "_", "_"), 2, 1, "empty node ID '1.x'");
  expect_error(line("1", "I", "PRON", "0", "root") + line("3", "go", "VERB", "1", "dep"), 2, 1,
               "word ID 3 out of sequence: expected 2");
  expect_error(line("0", "I", "PRON", "0", "root"), 1, 1, "word ID 0 out of sequence: expected 1");
}

// Found by tests/fuzz/fuzz_conllu: a range past the last word, or over a word of the token
// before it, was kept as if it named words of the sentence.
BOOST_AUTO_TEST_CASE(multiword_ranges_lie_inside_the_sentence_and_do_not_overlap) {
  const std::string one = line("1", "I", "PRON", "0", "root");
  expect_error(line("1-3", "don't", "_", "_", "_") + one + line("2", "do", "AUX", "1", "aux") + "\n" + one, 1, 1,
               "multiword token 1-3 ends past the sentence's last word, 2");
  expect_error(one + line("2-3", "ab", "_", "_", "_") + line("2", "a", "X", "1", "d"), 2, 1,
               "multiword token 2-3 ends past the sentence's last word, 2");
  expect_error(line("1-2", "ab", "_", "_", "_") + line("1-3", "abc", "_", "_", "_"), 2, 1,
               "multiword token 1-3 overlaps the token 1-2");
  expect_error(line("1-2", "ab", "_", "_", "_") + one + line("2-3", "bc", "_", "_", "_"), 3, 1,
               "multiword token 2-3 overlaps the token 1-2");
  const std::string ok = line("1-2", "ab", "_", "_", "_") + one + line("2", "b", "X", "1", "d") +
                         line("3-4", "cd", "_", "_", "_") + line("3", "c", "X", "1", "d") + line("4", "d", "X", "1", "d");
  BOOST_TEST(parse_conllu(ok).front().multiword.size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_heads) {
  const std::string first = line("1", "I", "PRON", "2", "nsubj");
  expect_error(first + line("2", "go", "VERB", "x", "root"), 2, head_column("2", "go", "VERB"), "HEAD 'x' is not a number");
  expect_error(first + line("2", "go", "VERB", "_", "root"), 2, head_column("2", "go", "VERB"), "HEAD '_' is not a number");
  expect_error(first + line("2", "go", "VERB", "-1", "root"), 2, head_column("2", "go", "VERB"), "HEAD '-1' is not a number");
  expect_error(first + line("2", "go", "VERB", "3", "root"), 2, head_column("2", "go", "VERB"),
               "HEAD 3 out of range: the sentence has 2 words");
  expect_error(line("1", "I", "PRON", "1", "nsubj") + line("2", "go", "VERB", "0", "root"), 1,
               head_column("1", "I", "PRON"), "HEAD 1 is the word itself");
}

BOOST_AUTO_TEST_CASE(cycles_and_roots) {
  // 1 -> 0 (root), 2 -> 3 -> 4 -> 2: reported at word 2's HEAD, the cycle's first word.
  const std::string cycle = "# c\n" + line("1", "a", "X", "0", "root") + line("2", "b", "X", "3", "d") +
                            line("3", "c", "X", "4", "d") + line("4", "d", "X", "2", "d") + line("5", "e", "X", "3", "d");
  expect_error(cycle, 3, head_column("2", "b", "X"), "cycle in HEAD: ");
  expect_error(cycle, 3, head_column("2", "b", "X"), "2 -> 3 -> 4 -> 2");
  // no word has HEAD 0 (then there is a cycle too): reported at the first word
  expect_error("\n" + line("1", "a", "X", "2", "d") + line("2", "b", "X", "1", "d"), 2, head_column("1", "a", "X"),
               "no root: no word has HEAD 0");
  expect_error(line("1", "a", "X", "0", "root") + line("2", "b", "X", "0", "root"), 2, head_column("2", "b", "X"),
               "several roots");
}

BOOST_AUTO_TEST_CASE(sentences_without_words_and_text_without_sentences) {
  expect_error(kSentence + "# sent_id = 2\n# text = nothing\n\n" + kSentence, 11, 1, "sentence without words");
  expect_error(kSentence + line("1-2", "ab", "_", "_", "_") + "\n", 11, 1, "sentence without words");
  expect_error("", 1, 1, "no sentence");
  expect_error("\n\n\n", 3, 1, "no sentence");
}

// ---------------------------------------------------------------- UD English EWT dev

BOOST_AUTO_TEST_CASE(ud_english_ewt_dev) {
  const fs::path path = ud_dir() / "en_ewt-ud-dev.conllu";
  if (!fs::exists(path)) {
    BOOST_TEST_MESSAGE("skipping UD EWT dev: " << path << " not found (set TAPENET_UD_DIR)");
    return;
  }
  const std::vector<ConlluSentence> sentences = read_conllu(path.string());
  std::size_t words = 0, multiword = 0, roots = 0, punct = 0;
  for (const ConlluSentence& s : sentences) {
    words += s.size();
    multiword += s.multiword.size();
    for (const ConlluWord& w : s.words) {
      roots += w.head == 0;
      punct += w.upos == "PUNCT";
    }
    const TreeStructure t = s.tree();
    BOOST_CHECK_NO_THROW(check_structure(t));
    BOOST_TEST(t.root() == s.root());
  }
  BOOST_TEST(sentences.size() == 2001u);  // shared/data/README.md, section 5
  BOOST_TEST(words == 25147u);            // awk: integer IDs
  BOOST_TEST(multiword == 359u);          // awk: range IDs
  BOOST_TEST(roots == 2001u);             // awk: HEAD 0
  BOOST_TEST(punct == 3075u);             // awk: UPOS PUNCT

  // An independent count in the test itself: lines whose first tab-separated field is all digits.
  std::ifstream in(path);
  std::string text_line;
  std::size_t counted = 0;
  while (std::getline(in, text_line)) {
    const std::string id = text_line.substr(0, text_line.find('\t'));
    counted += !id.empty() && text_line[0] != '#' && id.find_first_not_of("0123456789") == std::string::npos;
  }
  BOOST_TEST(counted == words);

  const ConlluSentence& first = sentences.front();
  BOOST_TEST(first.forms() == (Strings{"From", "the", "AP", "comes", "this", "story", ":"}),
             boost::test_tools::per_element());
  BOOST_TEST(first.root() == 3);  // "comes"
  BOOST_TEST(first.tree().children[3] == (Ints{2, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(first.comment("text") == "From the AP comes this story :");
}

// Train and test (skipped when absent): sentence counts (train: README section 5) and word
// counts and roots counted with awk as for dev; every sentence a single-rooted tree.
BOOST_AUTO_TEST_CASE(ud_english_ewt_train_and_test) {
  struct Split {
    std::string name;
    std::size_t sentences, words;
  };
  for (const Split& split : {Split{"train", 12544, 204577}, Split{"test", 2077, 25094}}) {
    const fs::path path = ud_dir() / ("en_ewt-ud-" + split.name + ".conllu");
    if (!fs::exists(path)) {
      BOOST_TEST_MESSAGE("skipping UD EWT " << split.name << ": " << path << " not found (set TAPENET_UD_DIR)");
      continue;
    }
    BOOST_TEST_CONTEXT(split.name) {
      const std::vector<ConlluSentence> sentences = read_conllu(path.string());
      std::size_t words = 0, roots = 0, bad = 0;
      for (const ConlluSentence& s : sentences) {
        words += s.size();
        for (const ConlluWord& w : s.words) roots += w.head == 0;
        const TreeStructure t = s.tree();
        bad += t.order.size() != s.size() || t.root() != s.root();
      }
      BOOST_TEST(sentences.size() == split.sentences);
      BOOST_TEST(words == split.words);
      BOOST_TEST(roots == split.sentences);
      BOOST_TEST(bad == 0u);
    }
  }
}
