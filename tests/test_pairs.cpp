// UTF-8 helpers, translation normalisation, the sentence-pair reader and its filters, the seeded
// split, seq2seq vocabularies, length bucketing and padded batches. The last case reads the real
// eng-fra.txt when ../shared is present and is skipped otherwise.
#define BOOST_TEST_MODULE pairs
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>  // getpid

#include "data/pairs.hpp"
#include "data/text.hpp"
#include "data/vocab.hpp"

using namespace tapenet::data;
namespace fs = std::filesystem;

namespace {

const char* const kEngFra = "/work/shared/data/translation/eng-fra.txt";

std::string norm(const std::string& text, bool strip_accents = false) {
  NormalizeOptions options;
  options.strip_accents = strip_accents;
  return normalize(text, options);
}

PairCorpus read_text(const std::string& text, const PairReadOptions& options = {}) {
  std::istringstream in(text);
  return read_pairs(in, "pairs.tsv", options);
}

Tokens tok(const std::string& s) { return split_on_spaces(s); }

// A temporary file removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& content) {
    path = (fs::temp_directory_path() / ("tapenet_pairs_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++) + ".tsv")).string();
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
  static inline int counter = 0;
};

std::vector<EncodedPair> encoded_with_source_lengths(const std::vector<std::size_t>& lengths) {
  std::vector<EncodedPair> data;
  for (std::size_t n : lengths) data.push_back({std::vector<int>(n, 7), {5, Seq2SeqSpecials::kEos}});
  return data;
}

}  // namespace

// ---- UTF-8 ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(utf8_validation_reports_first_bad_offset) {
  BOOST_TEST(is_valid_utf8(""));
  BOOST_TEST(is_valid_utf8("Ça alors\u202F! 😀 €"));
  const std::vector<std::pair<std::string, std::size_t>> bad = {
      {"ab\xC3", 2},               // truncated 2-byte sequence
      {"\xC0\xAF", 0},             // overlong '/'
      {"a\xED\xA0\x80", 1},        // UTF-16 surrogate U+D800
      {"xy\xF4\x90\x80\x80", 2},   // above U+10FFFF
      {"ab\x80", 2},               // stray continuation byte
      {"\xE2\x82z", 0},            // missing continuation byte
      {"ok \xC3\xA9 \xFF", 6},     // 0xFF never occurs in UTF-8
  };
  for (const auto& [text, offset] : bad) {
    const auto found = find_invalid_utf8(text);
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST(*found == offset);
  }
  try {
    decode_utf8("ab\x80");
    BOOST_FAIL("expected Utf8Error");
  } catch (const Utf8Error& e) {
    BOOST_TEST(e.offset() == 2u);
  }
}

BOOST_AUTO_TEST_CASE(utf8_decode_encode_round_trip) {
  const std::string text = "A\u00E9\u20AC\U0001F600";  // 1, 2, 3 and 4 bytes
  const std::u32string cps = decode_utf8(text);
  BOOST_TEST_REQUIRE(cps.size() == 4u);
  BOOST_TEST(static_cast<unsigned>(cps[0]) == 0x41u);
  BOOST_TEST(static_cast<unsigned>(cps[1]) == 0xE9u);
  BOOST_TEST(static_cast<unsigned>(cps[2]) == 0x20ACu);
  BOOST_TEST(static_cast<unsigned>(cps[3]) == 0x1F600u);
  BOOST_TEST(encode_utf8(cps) == text);
  BOOST_TEST(decode_utf8_at(text, 1).length == 2u);
  BOOST_TEST(decode_utf8_at(text, 2).length == 0u);  // middle of a sequence
  std::string out;
  BOOST_CHECK_THROW(append_utf8(out, 0xD800), std::invalid_argument);
  BOOST_CHECK_THROW(append_utf8(out, 0x110000), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(lowercase_and_accent_tables) {
  const auto lower = [](char32_t c) { return static_cast<unsigned>(to_lower(c)); };
  BOOST_TEST(lower(U'A') == unsigned(U'a'));
  BOOST_TEST(lower(U'É') == unsigned(U'é'));
  BOOST_TEST(lower(U'Þ') == unsigned(U'þ'));
  BOOST_TEST(lower(U'×') == unsigned(U'×'));  // U+00D7 is not a letter
  BOOST_TEST(lower(U'ß') == unsigned(U'ß'));
  BOOST_TEST(lower(U'Œ') == unsigned(U'œ'));
  BOOST_TEST(lower(U'Ÿ') == unsigned(U'ÿ'));
  BOOST_TEST(lower(U'Ā') == unsigned(U'ā'));
  BOOST_TEST(lower(U'Ĺ') == unsigned(U'ĺ'));  // odd/even parity flips at U+0139
  BOOST_TEST(lower(U'Ŋ') == unsigned(U'ŋ'));  // and back at U+014A
  BOOST_TEST(lower(U'Ž') == unsigned(U'ž'));
  BOOST_TEST(lower(U'İ') == unsigned(U'i'));
  BOOST_TEST(lower(U'ı') == unsigned(U'ı'));
  BOOST_TEST(lower(U'œ') == unsigned(U'œ'));
  const auto strip = [](char32_t c) { return static_cast<unsigned>(strip_accent(c)); };
  BOOST_TEST(strip(U'é') == unsigned(U'e'));
  BOOST_TEST(strip(U'Ç') == unsigned(U'C'));
  BOOST_TEST(strip(U'ÿ') == unsigned(U'y'));
  BOOST_TEST(strip(U'Ő') == unsigned(U'O'));
  BOOST_TEST(strip(U'œ') == unsigned(U'œ'));  // no canonical decomposition, as under NFD
  BOOST_TEST(strip(U'ł') == unsigned(U'ł'));
  BOOST_TEST(strip(U'ø') == unsigned(U'ø'));
}

// ---- normalisation ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(no_break_spaces_separate_punctuation) {
  BOOST_TEST(norm("Ça alors\u202F!") == "ça alors !");
  BOOST_TEST(norm("Au feu\u00A0!") == "au feu !");
  BOOST_TEST(norm("Au feu !") == "au feu !");
  BOOST_TEST(norm("10\u2009000 $") == "10 000 $");
  BOOST_TEST(norm("« Bonjour\u00A0»\u3000") == "« bonjour »");
  BOOST_TEST(norm("  a \t\u2003 b  ") == "a b");  // runs collapse, ends trimmed
  BOOST_TEST(norm("") == "");
  BOOST_TEST(norm(" \u00A0 ").empty());
}

BOOST_AUTO_TEST_CASE(lowercase_and_accents) {
  BOOST_TEST(norm("ÉTÉ À PARIS") == "été à paris");
  BOOST_TEST(norm("ŒUVRE") == "œuvre");
  BOOST_TEST(norm("Ça va, l'été ?", true) == "ca va , l' ete ?");
  BOOST_TEST(norm("ŒUVRE Noël", true) == "œuvre noel");  // œ has no decomposition
  BOOST_TEST(norm("e\u0301t\u00E9", true) == "ete");      // decomposed input: mark dropped
  NormalizeOptions keep_case;
  keep_case.lowercase = false;
  BOOST_TEST(normalize("Été, OK.", keep_case) == "Été , OK .");
}

BOOST_AUTO_TEST_CASE(punctuation_split) {
  BOOST_TEST(norm("Hello, world!") == "hello , world !");
  BOOST_TEST(norm("(a)b;c:d?\"e\"") == "( a ) b ; c : d ? \" e \"");
  BOOST_TEST(norm("Wait...") == "wait . . .");
  BOOST_TEST(norm("It costs 3.5 or 10,000.") == "it costs 3.5 or 10,000 .");  // decimal separators stay
  BOOST_TEST(norm("1, 2.") == "1 , 2 .");
  BOOST_TEST(norm("Qu'est-ce que c'est ?") == "qu' est-ce que c' est ?");  // hyphens stay inside words
  BOOST_TEST(norm("mes clés ‽") == "mes clés ‽");
  BOOST_TEST(norm("coucher…") == "coucher …");
  NormalizeOptions whole;
  whole.split_punctuation = false;
  BOOST_TEST(normalize("Hello, world! L’homme", whole) == "hello, world! l'homme");
}

// Apostrophe policy: an elision apostrophe stays on the left part; any other one is a token.
BOOST_AUTO_TEST_CASE(apostrophe_policy) {
  BOOST_TEST(norm("L'homme") == "l' homme");
  BOOST_TEST(norm("J\u2018aime celui-ci.") == "j' aime celui-ci .");  // ‘ used as an apostrophe
  BOOST_TEST(norm("C\u2019est une distraction.") == "c' est une distraction .");
  BOOST_TEST(norm("aujourd'hui") == "aujourd' hui");
  BOOST_TEST(norm("I'm here.") == "i' m here .");
  BOOST_TEST(norm("Don't!") == "don' t !");
  BOOST_TEST(norm("'hello'") == "' hello '");
  BOOST_TEST(norm("the students' books") == "the students ' books");
}

BOOST_AUTO_TEST_CASE(invisible_characters_are_removed) {
  BOOST_TEST(norm("sur \u200B\u200Bla musique") == "sur la musique");
  BOOST_TEST(norm("the sink\u00AD.") == "the sink .");
  BOOST_TEST(norm("wo\u200Brd") == "word");
  BOOST_CHECK_THROW(norm("bad \xC3"), Utf8Error);
}

// ---- reading ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reads_pairs_in_either_direction) {
  const std::string text = "Go.\tVa !\nI'm OK.\tÇa va.\n";
  const PairCorpus eng_fra = read_text(text);
  BOOST_TEST_REQUIRE(eng_fra.pairs.size() == 2u);
  BOOST_TEST(eng_fra.pairs[0].source == tok("go ."), boost::test_tools::per_element());
  BOOST_TEST(eng_fra.pairs[0].target == tok("va !"), boost::test_tools::per_element());
  BOOST_TEST(eng_fra.pairs[1].source == tok("i' m ok ."), boost::test_tools::per_element());
  BOOST_TEST(eng_fra.pairs[1].line == 2u);
  BOOST_TEST(eng_fra.report.lines == 2u);
  BOOST_TEST(eng_fra.report.kept == 2u);

  PairReadOptions fra_eng;
  fra_eng.source_column = 1;
  const PairCorpus reversed = read_text(text, fra_eng);
  BOOST_TEST(reversed.pairs[1].source == tok("ça va ."), boost::test_tools::per_element());
  BOOST_TEST(reversed.pairs[1].target == tok("i' m ok ."), boost::test_tools::per_element());

  PairReadOptions bad;
  bad.source_column = 2;
  BOOST_CHECK_THROW(read_text(text, bad), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(crlf_and_bom) {
  const PairCorpus corpus = read_text("\xEF\xBB\xBFHi.\tSalut.\r\nBye.\tAu revoir.\r\n");
  BOOST_TEST_REQUIRE(corpus.pairs.size() == 2u);
  BOOST_TEST(corpus.pairs[0].source == tok("hi ."), boost::test_tools::per_element());
  BOOST_TEST(corpus.pairs[1].target == tok("au revoir ."), boost::test_tools::per_element());
}

const std::string kMalformed =
    "Go.\tVa !\n"          // 1 ok
    "no tab here\n"        // 2 no tab
    "a\tb\tc\n"            // 3 too many fields
    "Hello.\t\n"           // 4 empty side
    "\t\u00A0 \n"          // 5 empty sides (whitespace only)
    "Bad \xC3(.\tMal.\n"   // 6 bad UTF-8 at byte 4
    "\n"                   // 7 no tab
    "Run!\tCours\u202F!\n";  // 8 ok

BOOST_AUTO_TEST_CASE(malformed_lines_are_skipped_and_counted) {
  const PairCorpus corpus = read_text(kMalformed);
  const ReadReport& r = corpus.report;
  BOOST_TEST(r.lines == 8u);
  BOOST_TEST(r.kept == 2u);
  BOOST_TEST(corpus.pairs.size() == 2u);
  BOOST_TEST(corpus.pairs[1].line == 8u);
  BOOST_TEST(r.no_tab == 2u);
  BOOST_TEST(r.too_many_fields == 1u);
  BOOST_TEST(r.empty_side == 2u);
  BOOST_TEST(r.bad_utf8 == 1u);
  BOOST_TEST(r.malformed() == 6u);
  BOOST_TEST(r.filtered() == 0u);
  BOOST_TEST_REQUIRE(r.messages.size() == 5u);  // default max_messages
  BOOST_TEST(r.messages[0] == "pairs.tsv:2: no tab (expected 2 tab-separated fields)");
  BOOST_TEST(r.messages[1] == "pairs.tsv:3: more than 2 tab-separated fields");
  BOOST_TEST(r.messages[2] == "pairs.tsv:4: empty field 2 (no tokens after normalisation)");
  BOOST_TEST(r.messages[3] == "pairs.tsv:5: empty field 1 (no tokens after normalisation)");
  BOOST_TEST(r.messages[4] == "pairs.tsv:6: invalid UTF-8 at byte 4");

  PairReadOptions few;
  few.max_messages = 1;
  BOOST_TEST(read_text(kMalformed, few).report.messages.size() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_rejected_naming_file_and_line) {
  PairReadOptions strict;
  strict.malformed = MalformedLines::kThrow;
  try {
    read_text(kMalformed, strict);
    BOOST_FAIL("expected PairFormatError");
  } catch (const PairFormatError& e) {
    BOOST_TEST(e.file() == "pairs.tsv");
    BOOST_TEST(e.line() == 2u);
    BOOST_TEST(std::string(e.what()) == "pairs.tsv:2: no tab (expected 2 tab-separated fields)");
  }
  // From a real file the message names its path; bad UTF-8 is reported the same way.
  const TempFile file("Go.\tVa !\nRun!\tCours !\nBad \xC3(.\tMal.\n");
  try {
    read_pairs(file.path, strict);
    BOOST_FAIL("expected PairFormatError");
  } catch (const PairFormatError& e) {
    BOOST_TEST(std::string(e.what()) == file.path + ":3: invalid UTF-8 at byte 4");
  }
  BOOST_TEST(read_pairs(file.path).report.bad_utf8 == 1u);  // skip mode on the same file
  BOOST_CHECK_THROW(read_pairs(file.path + ".missing"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(max_length_filter_applies_to_both_sides) {
  PairReadOptions options;
  options.max_tokens = 3;
  const PairCorpus corpus = read_text(
      "Go.\tVa !\n"                      // 2 / 2
      "Go on.\tContinue !\n"             // 3 / 3 kept (inclusive)
      "Go on now.\tVas-y.\n"             // 4 / 2 source too long
      "Hi.\tSalut à toi !\n",            // 2 / 4 target too long
      options);
  BOOST_TEST(corpus.report.kept == 2u);
  BOOST_TEST(corpus.report.too_long == 2u);
  BOOST_TEST(corpus.pairs[1].line == 2u);
}

BOOST_AUTO_TEST_CASE(english_prefix_key_matches_tutorial_spelling) {
  BOOST_TEST(english_prefix_key(tok("i' m here .")) == "i m here .");
  BOOST_TEST(english_prefix_key(tok("she ' s")) == "she s");
  BOOST_TEST(english_prefix_key(tok("He' S")) == "he s");
  BOOST_TEST(english_prefix_key({}) == "");
  const auto& prefixes = tutorial_english_prefixes();
  BOOST_TEST(prefixes.size() == 12u);
  BOOST_TEST(has_english_prefix(tok("i' m cold ."), prefixes));
  BOOST_TEST(has_english_prefix(tok("i am ."), prefixes));
  BOOST_TEST(has_english_prefix(tok("he isn' t here ."), prefixes));  // "he is" is a plain prefix
  BOOST_TEST(has_english_prefix(tok("they' re late ."), prefixes));
  BOOST_TEST(!has_english_prefix(tok("i am"), prefixes));  // "i am " needs a following token
  BOOST_TEST(!has_english_prefix(tok("im here"), prefixes));
  BOOST_TEST(!has_english_prefix(tok("hello ."), prefixes));
}

BOOST_AUTO_TEST_CASE(english_prefix_filter_reads_the_english_column) {
  const std::string text =
      "I'm cold.\tJ'ai froid.\n"
      "He's here.\tIl est là.\n"
      "Go.\tVa !\n"
      "They’re late.\tIls sont en retard.\n"
      "I am sure.\tJ'en suis sûr.\n"
      "You aren't fat.\tTu n'es pas gros.\n"
      "Youre wrong.\tTu as tort.\n";
  PairReadOptions options;
  options.source_column = 1;  // fra→eng: the English prefix is still checked on column 0
  options.english_prefix_filter = true;
  const PairCorpus corpus = read_text(text, options);
  BOOST_TEST(corpus.report.kept == 5u);
  BOOST_TEST(corpus.report.no_english_prefix == 2u);
  std::vector<std::size_t> lines;
  for (const auto& pair : corpus.pairs) lines.push_back(pair.line);
  BOOST_TEST(lines == (std::vector<std::size_t>{1, 2, 4, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(corpus.pairs[0].target == tok("i' m cold ."), boost::test_tools::per_element());
}

// ---- split ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(split_is_deterministic_disjoint_and_complete) {
  const DataSplit a = split_indices(1000, 42);
  BOOST_TEST(a.train.size() == 900u);
  BOOST_TEST(a.valid.size() == 50u);
  BOOST_TEST(a.test.size() == 50u);
  const DataSplit again = split_indices(1000, 42);
  BOOST_TEST(a.train == again.train, boost::test_tools::per_element());
  BOOST_TEST(a.valid == again.valid, boost::test_tools::per_element());
  BOOST_TEST(a.test == again.test, boost::test_tools::per_element());

  std::set<std::size_t> all;
  for (const auto* part : {&a.train, &a.valid, &a.test}) {
    BOOST_TEST(std::is_sorted(part->begin(), part->end()));
    all.insert(part->begin(), part->end());
  }
  BOOST_TEST(all.size() == 1000u);  // disjoint, since the sizes add up to 1000
  BOOST_TEST(*all.rbegin() == 999u);

  const DataSplit other = split_indices(1000, 43);
  BOOST_TEST(other.valid != a.valid);
  // The valid part is not a block of the file: a shuffle, not a cut.
  BOOST_TEST(a.valid.back() - a.valid.front() > 500u);
}

BOOST_AUTO_TEST_CASE(split_sizes_and_errors) {
  const DataSplit empty = split_indices(0, 1);
  BOOST_TEST(empty.train.empty());
  const DataSplit small = split_indices(10, 1, {0.8, 0.1, 0.1});
  BOOST_TEST(small.train.size() == 8u);
  BOOST_TEST(small.valid.size() == 1u);
  BOOST_TEST(small.test.size() == 1u);
  const DataSplit tiny = split_indices(1, 1, {0.0, 0.5, 0.5});  // rounding cannot overflow
  BOOST_TEST(tiny.train.size() + tiny.valid.size() + tiny.test.size() == 1u);
  BOOST_CHECK_THROW(split_indices(10, 1, {0.9, 0.05, 0.1}), std::invalid_argument);
  BOOST_CHECK_THROW(split_indices(10, 1, {1.1, -0.05, -0.05}), std::invalid_argument);
}

// ---- vocabularies and encoding ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(seq2seq_vocab_has_fixed_specials) {
  const PairCorpus corpus = read_text(
      "The cat.\tLe chat.\n"
      "The dog.\tLe chien.\n"
      "A cat.\tUn chat.\n"
      "<eos> cat.\tchat.\n");
  const PairVocabs vocabs = build_pair_vocabs(corpus.pairs, {0, 1, 2}, 2);  // line 4 not counted
  for (const Vocab* vocab : {&vocabs.source, &vocabs.target}) {
    BOOST_TEST(vocab->word(0) == "<unk>");
    BOOST_TEST(vocab->word(1) == "<pad>");
    BOOST_TEST(vocab->word(2) == "<sos>");
    BOOST_TEST(vocab->word(3) == "<eos>");
  }
  // Source counts: "." 3, "the" 2, "cat" 2, "dog" 1, "a" 1 -> min_count 2 keeps ". cat the".
  BOOST_TEST(vocabs.source.words() == (std::vector<std::string>{"<unk>", "<pad>", "<sos>", "<eos>", ".", "cat", "the"}),
             boost::test_tools::per_element());

  const std::vector<int> the_dog = encode_sentence(vocabs.source, tok("the dog ."));
  BOOST_TEST(the_dog == (std::vector<int>{6, Seq2SeqSpecials::kUnk, 4, Seq2SeqSpecials::kEos}),
             boost::test_tools::per_element());
  // A literal special word is text, not a control symbol.
  BOOST_TEST(encode_sentence(vocabs.source, tok("<eos> <pad>")) ==
                 (std::vector<int>{Seq2SeqSpecials::kUnk, Seq2SeqSpecials::kUnk, Seq2SeqSpecials::kEos}),
             boost::test_tools::per_element());
  BOOST_TEST(decode_sentence(vocabs.source, {Seq2SeqSpecials::kSos, 6, 5, 4, Seq2SeqSpecials::kEos, 5,
                                             Seq2SeqSpecials::kPad}) == tok("the cat ."),
             boost::test_tools::per_element());

  BOOST_CHECK_THROW(encode_sentence(Vocab(), tok("a")), std::invalid_argument);
  BOOST_CHECK_THROW(check_seq2seq_vocab(Vocab::build({{"x", 9}})), std::invalid_argument);

  // Vocab's own file format keeps the specials in place.
  const TempFile file("");
  vocabs.target.save(file.path);
  const Vocab loaded = Vocab::load(file.path);
  check_seq2seq_vocab(loaded);
  BOOST_TEST(loaded.words() == vocabs.target.words(), boost::test_tools::per_element());

  const std::vector<EncodedPair> encoded = encode_pairs(corpus.pairs, vocabs);
  BOOST_TEST_REQUIRE(encoded.size() == 4u);
  BOOST_TEST(encoded[3].source.front() == Seq2SeqSpecials::kUnk);
  BOOST_TEST(encoded[2].target.back() == Seq2SeqSpecials::kEos);
}

// ---- batching ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(length_buckets_group_similar_lengths) {
  const std::vector<std::size_t> lengths = {5, 2, 9, 2, 7, 3, 3, 8, 1, 4, 6, 2, 5, 9, 1, 3, 7};
  const std::vector<EncodedPair> data = encoded_with_source_lengths(lengths);
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < data.size(); ++i)
    if (i != 4) indices.push_back(i);  // a subset, as for a training split

  const auto batches = length_buckets(data, indices, 4, 7);
  BOOST_TEST(batches.size() == 4u);  // 16 indices
  std::vector<std::size_t> seen;
  for (const auto& batch : batches) {
    BOOST_TEST(batch.size() == 4u);
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  std::sort(seen.begin(), seen.end());
  BOOST_TEST(seen == indices, boost::test_tools::per_element());

  // Sorted by their shortest member, batches do not overlap in length: batch k's longest source
  // is no longer than batch k+1's shortest.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (const auto& batch : batches) {
    std::size_t lo = 100, hi = 0;
    for (std::size_t i : batch) {
      lo = std::min(lo, data[i].source.size());
      hi = std::max(hi, data[i].source.size());
    }
    ranges.emplace_back(lo, hi);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t k = 0; k + 1 < ranges.size(); ++k) BOOST_TEST(ranges[k].second <= ranges[k + 1].first);

  BOOST_TEST(length_buckets(data, indices, 4, 7) == batches);  // deterministic
  bool any_differs = false;
  for (std::uint64_t seed = 8; seed < 16; ++seed) any_differs |= length_buckets(data, indices, 4, seed) != batches;
  BOOST_TEST(any_differs);

  const auto uneven = length_buckets(data, indices, 5, 1);
  std::size_t total = 0;
  for (const auto& batch : uneven) total += batch.size();
  BOOST_TEST(uneven.size() == 4u);  // 5 + 5 + 5 + 1
  BOOST_TEST(total == 16u);
  BOOST_CHECK_THROW(length_buckets(data, indices, 0, 1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(padded_batch_is_time_major_with_mask) {
  const PaddedBatch batch = pad_time_major({{11, 12, 13}, {21}, {31, 32}});
  const int pad = Seq2SeqSpecials::kPad;
  BOOST_TEST(batch.steps == 3u);
  BOOST_TEST(batch.batch == 3u);
  // Row t holds time step t of every sequence.
  BOOST_TEST(batch.tokens == (std::vector<int>{11, 21, 31, 12, pad, 32, 13, pad, pad}),
             boost::test_tools::per_element());
  BOOST_TEST(batch.mask == (std::vector<double>{1, 1, 1, 1, 0, 1, 1, 0, 0}), boost::test_tools::per_element());
  BOOST_TEST(batch.lengths == (std::vector<std::size_t>{3, 1, 2}), boost::test_tools::per_element());
  BOOST_TEST(batch.token(1, 2) == 32);
  BOOST_TEST(batch.mask_at(1, 1) == 0.0);

  const PaddedBatch empty = pad_time_major({});
  BOOST_TEST(empty.steps == 0u);
  BOOST_TEST(empty.tokens.empty());
}

BOOST_AUTO_TEST_CASE(pair_batch_shifts_the_decoder_input) {
  const std::vector<EncodedPair> data = {
      {{4, 5, 3}, {6, 7, 8, 3}},
      {{9, 3}, {10, 3}},
  };
  const PairBatch batch = make_pair_batch(data, {1, 0});
  const int pad = Seq2SeqSpecials::kPad, sos = Seq2SeqSpecials::kSos, eos = Seq2SeqSpecials::kEos;
  BOOST_TEST(batch.indices == (std::vector<std::size_t>{1, 0}), boost::test_tools::per_element());
  BOOST_TEST(batch.source.tokens == (std::vector<int>{9, 4, eos, 5, pad, eos}), boost::test_tools::per_element());
  BOOST_TEST(batch.target_output.tokens == (std::vector<int>{10, 6, eos, 7, pad, 8, pad, eos}),
             boost::test_tools::per_element());
  BOOST_TEST(batch.target_input.tokens == (std::vector<int>{sos, sos, 10, 6, pad, 7, pad, 8}),
             boost::test_tools::per_element());
  BOOST_TEST(batch.target_input.mask == batch.target_output.mask, boost::test_tools::per_element());
  BOOST_TEST(batch.target_input.lengths == (std::vector<std::size_t>{2, 4}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(make_pair_batch({{{1}, {}}}, {0}), std::invalid_argument);
}

// ---- the real file ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reads_shared_eng_fra) {
  if (!fs::exists(kEngFra)) {
    std::cout << "skipping reads_shared_eng_fra: " << kEngFra << " not found\n";
    return;
  }
  PairReadOptions strict;
  strict.malformed = MalformedLines::kThrow;  // none is malformed
  const PairCorpus corpus = read_pairs(kEngFra, strict);
  BOOST_TEST(corpus.report.lines == 142787u);
  BOOST_TEST(corpus.report.kept == 142787u);
  BOOST_TEST(corpus.report.malformed() == 0u);
  BOOST_TEST(corpus.pairs.front().source == tok("go ."), boost::test_tools::per_element());
  BOOST_TEST(corpus.pairs.front().target == tok("va !"), boost::test_tools::per_element());
  // No no-break space survives into a token.
  std::size_t with_nbsp = 0;
  for (const SentencePair& pair : corpus.pairs)
    for (const Tokens* side : {&pair.source, &pair.target})
      for (const std::string& token : *side)
        if (token.find("\u00A0") != std::string::npos || token.find("\u202F") != std::string::npos) ++with_nbsp;
  BOOST_TEST(with_nbsp == 0u);
  // Totals below were cross-checked with an independent Python implementation of the same rules.
  std::size_t english_tokens = 0, french_tokens = 0;
  for (const SentencePair& pair : corpus.pairs) {
    english_tokens += pair.source.size();
    french_tokens += pair.target.size();
  }
  BOOST_TEST(english_tokens == 1082540u);
  BOOST_TEST(french_tokens == 1157456u);

  const DataSplit split = split_indices(corpus.pairs.size(), 2017);
  BOOST_TEST(split.valid.size() == 7139u);  // round(142787 * 0.05) = round(7139.35)
  BOOST_TEST(split.test.size() == 7139u);
  BOOST_TEST(split.train.size() == 128509u);
}

// The PyTorch tutorial's setting on this file with our tokenisation: fra→eng, accents stripped,
// at most 9 tokens a side (MAX_LENGTH = 10), English prefix filter.
BOOST_AUTO_TEST_CASE(tutorial_filter_on_shared_eng_fra) {
  if (!fs::exists(kEngFra)) {
    std::cout << "skipping tutorial_filter_on_shared_eng_fra: " << kEngFra << " not found\n";
    return;
  }
  PairReadOptions options;
  options.source_column = 1;
  options.normalize.strip_accents = true;
  options.max_tokens = 9;
  options.english_prefix_filter = true;
  const PairCorpus corpus = read_pairs(kEngFra, options);
  BOOST_TEST(corpus.report.kept == 10868u);
  BOOST_TEST(corpus.report.malformed() == 0u);
  BOOST_TEST(corpus.report.kept + corpus.report.filtered() == 142787u);
  std::vector<std::size_t> all(corpus.pairs.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const PairVocabs vocabs = build_pair_vocabs(corpus.pairs, all, 1);
  BOOST_TEST(vocabs.source.size() == 4475u + Seq2SeqSpecials::kCount);  // French words
  BOOST_TEST(vocabs.target.size() == 2903u + Seq2SeqSpecials::kCount);  // English words
  const PairVocabs frequent = build_pair_vocabs(corpus.pairs, all, 2);
  BOOST_TEST(frequent.source.size() == 2480u + Seq2SeqSpecials::kCount);
  BOOST_TEST(frequent.target.size() == 1882u + Seq2SeqSpecials::kCount);
  const auto english_ok = [](const SentencePair& pair) {
    return has_english_prefix(pair.target, tutorial_english_prefixes());
  };
  BOOST_TEST(std::all_of(corpus.pairs.begin(), corpus.pairs.end(), english_ok));
}
