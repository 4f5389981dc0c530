// sacreBLEU's default BLEU (13a tokens, exp smoothing), chrF and the tokenised corpus BLEU
// against an outside oracle. Expected values are worked out by hand in the comments; the
// NLTK constants come from nltk.translate.bleu_score.corpus_bleu (NLTK 3.8, Debian
// python3-nltk) on the same whitespace tokens, one reference each, default weights and no
// smoothing (times 100).
#define BOOST_TEST_MODULE sacrebleu
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "data/bleu.hpp"
#include "data/sacrebleu.hpp"
#include "data/text.hpp"

using namespace tapenet::data;

namespace {

constexpr double kTol = 1e-9;

std::vector<Tokens> corpus(const std::vector<std::string>& sentences) {
  std::vector<Tokens> out;
  for (const std::string& s : sentences) out.push_back(split_on_spaces(s));
  return out;
}

}  // namespace

// ---- tokenize_13a --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tokenizer_13a_punctuation_and_numbers) {
  BOOST_TEST(tokenize_13a("Hello, world!") == "Hello , world !");
  // '$' is a symbol; the comma after a digit splits off because a space follows; "10,000" and
  // "3.50" stay whole (digits on both sides); "yen." splits.
  BOOST_TEST(tokenize_13a("It costs $3.50, or 10,000 yen.") == "It costs $ 3.50 , or 10,000 yen .");
  BOOST_TEST(tokenize_13a("pages 5-6 of the well-known book") == "pages 5 - 6 of the well-known book");
  BOOST_TEST(tokenize_13a("Don't stop (now)") == "Don't stop ( now )");  // the apostrophe is no symbol
  BOOST_TEST(tokenize_13a("1.5.") == "1.5 .");
  // One pass of non-overlapping matches: "a." matches the first rule, then ".b" the second.
  BOOST_TEST(tokenize_13a("a..b") == "a . . b");
  BOOST_TEST(tokenize_13a("&quot;Hi&quot; &amp; bye&lt;3") == "\" Hi \" & bye < 3");
  BOOST_TEST(tokenize_13a("a <skipped> b-\nc\nd") == "a bc d");
  BOOST_TEST(tokenize_13a("  spaces\tand\ttabs  ") == "spaces and tabs");
}

BOOST_AUTO_TEST_CASE(tokenizer_13a_unicode) {
  BOOST_TEST(tokenize_13a("Zürich. Ça va?") == "Zürich . Ça va ?");
  BOOST_TEST(tokenize_13a("Oui\u00a0! Très\u202fbien") == "Oui ! Très bien");  // Python's split: no-break spaces
  BOOST_TEST(tokenize_13a("Příliš žluťoučký kůň.") == "Příliš žluťoučký kůň .");
  BOOST_TEST(tokenize_13a("«Bonjour»") == "«Bonjour»");  // only ASCII symbols split
}

// ---- sacre_bleu ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sacre_bleu_identical_and_case) {
  const BleuScore same = sacre_bleu({"The cat sat on the mat."}, {"The cat sat on the mat."});
  BOOST_TEST(same.bleu == 100.0, boost::test_tools::tolerance(kTol));
  BOOST_TEST(same.candidate_length == 7u);  // "The cat sat on the mat ."
  // Case-sensitive: "the" != "The". 1-grams 6/7, 2-grams 5/6, 3-grams 4/5, 4-grams 3/4.
  const BleuScore lower = sacre_bleu({"the cat sat on the mat."}, {"The cat sat on the mat."});
  BOOST_TEST(lower.bleu == 100.0 * std::pow(6.0 / 7 * 5.0 / 6 * 4.0 / 5 * 3.0 / 4, 0.25), boost::test_tools::tolerance(kTol));
  // Trailing whitespace is ignored.
  BOOST_TEST(sacre_bleu({"The cat sat on the mat.  \n"}, {"The cat sat on the mat."}).bleu == 100.0,
             boost::test_tools::tolerance(kTol));
}

BOOST_AUTO_TEST_CASE(sacre_bleu_exp_smoothing) {
  // hyp a b c d e, ref a b c x e: 1-grams 4/5, 2-grams 2/4 (a b, b c), 3-grams 1/3 (a b c),
  // 4-grams 0/2 -> the first zero order gets 1 / (2 * 2).
  BleuScore s = sacre_bleu({"a b c d e"}, {"a b c x e"});
  BOOST_TEST(s.matches[3] == 0u);
  BOOST_TEST(s.precisions[3] == 25.0, boost::test_tools::tolerance(kTol));
  BOOST_TEST(s.bleu == 100.0 * std::pow(0.8 * 0.5 / 3 * 0.25, 0.25), boost::test_tools::tolerance(kTol));
  // hyp a b x c d, ref a b y c d: 1-grams 4/5, 2-grams 2/4, 3-grams 0/3 -> 1/(2*3), 4-grams 0/2 -> 1/(4*2).
  s = sacre_bleu({"a b x c d"}, {"a b y c d"});
  BOOST_TEST(s.precisions[2] == 100.0 / 6, boost::test_tools::tolerance(kTol));
  BOOST_TEST(s.precisions[3] == 100.0 / 8, boost::test_tools::tolerance(kTol));
  BOOST_TEST(s.bleu == 100.0 * std::pow(0.8 * 0.5 / 6 / 8, 0.25), boost::test_tools::tolerance(kTol));
  // The tokenised BLEU without smoothing is 0 on the same pair.
  BOOST_TEST(corpus_bleu(corpus({"a b x c d"}), corpus({"a b y c d"})).bleu == 0.0);
}

BOOST_AUTO_TEST_CASE(sacre_bleu_brevity_penalty_and_zeros) {
  // c = 5, r = 7, every n-gram matches: BP = exp(1 - 7/5).
  BleuScore s = sacre_bleu({"a b c d e"}, {"a b c d e f g"});
  BOOST_TEST(s.brevity_penalty == std::exp(1.0 - 7.0 / 5.0), boost::test_tools::tolerance(kTol));
  BOOST_TEST(s.bleu == 100.0 * std::exp(-0.4), boost::test_tools::tolerance(kTol));
  // Longer than the reference: BP = 1.
  BOOST_TEST(sacre_bleu({"a b c d e f"}, {"a b c d e"}).brevity_penalty == 1.0);
  // No match at all, an empty hypothesis, a corpus without 4-grams: 0.
  BOOST_TEST(sacre_bleu({"a b c d"}, {"e f g h"}).bleu == 0.0);
  s = sacre_bleu({""}, {"a b c d"});
  BOOST_TEST(s.bleu == 0.0);
  BOOST_TEST(s.brevity_penalty == 0.0);
  BOOST_TEST(sacre_bleu({"the cat sat"}, {"the cat sat down"}).bleu == 0.0);
  BOOST_CHECK_THROW(sacre_bleu({"a"}, {}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(sacre_bleu_corpus_sums) {
  // Two sentences: "Hello, world!" (4 tokens, all match: 4/4 3/3 2/2 1/1) and "Good morning."
  // against "Good evening." (1-grams 2/3 (Good, .), 2-grams 0/2, 3-grams 0/1, no 4-gram).
  // Sums: 6/7, 3/5, 2/3, 1/1; c = r = 7.
  const BleuScore s = sacre_bleu({"Hello, world!", "Good morning."}, {"Hello, world!", "Good evening."});
  BOOST_TEST(s.matches[0] == 6u);
  BOOST_TEST(s.totals[1] == 5u);
  BOOST_TEST(s.bleu == 100.0 * std::pow(6.0 / 7 * 3.0 / 5 * 2.0 / 3 * 1.0, 0.25), boost::test_tools::tolerance(kTol));
}

// ---- corpus_chrf ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(chrf_hand_values) {
  // Orders 1-2 only (no 3-gram on either side): P = R = 1.
  BOOST_TEST(corpus_chrf({"ab"}, {"ab"}) == 100.0, boost::test_tools::tolerance(kTol));
  // abc / abd: 1-grams 2/3, 2-grams 1/2, 3-grams 0/1 both ways: P = R = 7/18, F = P.
  BOOST_TEST(corpus_chrf({"abc"}, {"abd"}) == 100.0 * 7 / 18, boost::test_tools::tolerance(kTol));
  // ab / abc: order 3 has no hypothesis n-gram, so it is left out. P = (1 + 1)/2 = 1,
  // R = (2/3 + 1/2)/2 = 7/12, F = 5 P R / (4 P + R) = 7/11.
  BOOST_TEST(corpus_chrf({"ab"}, {"abc"}) == 100.0 * 7 / 11, boost::test_tools::tolerance(kTol));
  // Whitespace is removed.
  BOOST_TEST(corpus_chrf({"a b"}, {"ab"}) == 100.0, boost::test_tools::tolerance(kTol));
  // Code points, not bytes: éa / éb: 1-grams 1/2, 2-grams 0/1: P = R = 1/4.
  BOOST_TEST(corpus_chrf({"éa"}, {"éb"}) == 25.0, boost::test_tools::tolerance(kTol));
  BOOST_TEST(corpus_chrf({"xyz"}, {"abc"}) == 0.0);
  BOOST_TEST(corpus_chrf({""}, {"abc"}) == 0.0);
}

BOOST_AUTO_TEST_CASE(chrf_corpus_statistics) {
  // (abc, a): 1-grams H 3, R 1, M 1; the reference has no 2- or 3-gram, so the hypothesis's
  // do not count. (ab, ab): 1-grams 2/2/2, 2-grams 1/1/1. Sums: order 1 H 5 R 3 M 3, order 2
  // H 1 R 1 M 1: P = (3/5 + 1)/2 = 0.8, R = 1, F = 5 * 0.8 / (3.2 + 1) = 4 / 4.2.
  BOOST_TEST(corpus_chrf({"abc", "ab"}, {"a", "ab"}) == 100.0 * 4 / 4.2, boost::test_tools::tolerance(kTol));
  // beta = 1 is the plain F1 of P and R.
  ChrfOptions f1;
  f1.beta = 1;
  BOOST_TEST(corpus_chrf({"abc", "ab"}, {"a", "ab"}, f1) == 100.0 * 2 * 0.8 / 1.8, boost::test_tools::tolerance(kTol));
  BOOST_CHECK_THROW(corpus_chrf({"a", "b"}, {"a"}), std::invalid_argument);
}

// ---- the tokenised corpus BLEU against NLTK ------------------------------------------------------

BOOST_AUTO_TEST_CASE(token_bleu_matches_nltk) {
  struct Case {
    std::vector<std::string> hyp, ref;
    double nltk;
  };
  const std::vector<Case> cases = {
      {{"the cat sat on the mat .", "there is a dog in the garden", "i am very tired today ."},
       {"the cat is on the mat .", "a dog is in the garden", "i am so tired today ."},
       33.75804740497263},
      // shorter than the references: BP < 1
      {{"he is here now", "she left early this morning"},
       {"he is here now , i think .", "she left early this morning ."},
       57.375342073743276},
      // longer: BP = 1, low precisions
      {{"we go to the market tomorrow morning with my old friends", "it is cold outside"},
       {"we go to the market tomorrow", "it is cold outside"},
       56.157511625265},
  };
  for (const Case& c : cases) BOOST_TEST(corpus_bleu(corpus(c.hyp), corpus(c.ref)).bleu == c.nltk, boost::test_tools::tolerance(1e-9));
  // Zero 4-gram matches: NLTK's "method0" returns 7.3e-76 (its floor), ours 0; no match at
  // all: both 0.
  BOOST_TEST(corpus_bleu(corpus({"a b c d e", "x y"}), corpus({"a b c x e", "x y"})).bleu < 1e-70);
  BOOST_TEST(corpus_bleu(corpus({"a b c d"}), corpus({"e f g h"})).bleu == 0.0);
}

// ---- detokenize ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(detokenize_words) {
  BOOST_TEST(detokenize({"i'", "m", "tired", "."}) == "i'm tired.");
  BOOST_TEST(detokenize({"l'", "homme", "est", "là", "!"}) == "l'homme est là!");
  BOOST_TEST(detokenize({"he", "said", "(", "no", ")", ",", "then", "left", "..."}) == "he said (no), then left ...");
  BOOST_TEST(detokenize({}) == "");
  // Detokenised word output tokenises back under 13a: "i'm tired." -> "i'm tired ."
  BOOST_TEST(tokenize_13a(detokenize({"i'", "m", "tired", "."})) == "i'm tired .");
}
