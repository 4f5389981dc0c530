// Corpus BLEU-4 and perplexity. Every expected value is worked out by hand in the comments
// (n-gram lists, clipped counts, BP), independently of the implementation.
#define BOOST_TEST_MODULE bleu
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/bleu.hpp"
#include "data/text.hpp"

using namespace tapenet::data;

namespace {

constexpr double kTol = 1e-9;

std::vector<Tokens> corpus(const std::vector<std::string>& sentences) {
  std::vector<Tokens> out;
  for (const std::string& s : sentences) out.push_back(split_on_spaces(s));
  return out;
}

BleuScore score(const std::vector<std::string>& candidates, const std::vector<std::string>& references,
                bool smooth = false) {
  BleuOptions options;
  options.add_one_smoothing = smooth;
  return corpus_bleu(corpus(candidates), corpus(references), options);
}

void check_counts(const BleuScore& s, const std::array<std::size_t, 4>& matches,
                  const std::array<std::size_t, 4>& totals) {
  for (std::size_t n = 0; n < 4; ++n) {
    BOOST_TEST_CONTEXT("n = " << n + 1) {
      BOOST_TEST(s.matches[n] == matches[n]);
      BOOST_TEST(s.totals[n] == totals[n]);
    }
  }
}

}  // namespace

// Papineni et al. 2002, section 2.1.1: "the" x 7 against "the cat is on the mat".
// Unigrams: "the" occurs 7 times, at most 2 times in the reference -> clipped p1 = 2/7.
// Bigrams: 6 x "the the", absent from the reference -> p2 = 0/6, so BLEU = 0.
// Trigrams 0/5, 4-grams 0/4. c = 7 > r = 6 -> BP = 1.
BOOST_AUTO_TEST_CASE(papineni_clipped_unigram_precision) {
  const BleuScore s = score({"the the the the the the the"}, {"the cat is on the mat"});
  check_counts(s, {2, 0, 0, 0}, {7, 6, 5, 4});
  BOOST_TEST(std::abs(s.precisions[0] - 100.0 * 2.0 / 7.0) < kTol);
  BOOST_TEST(s.precisions[1] == 0.0);
  BOOST_TEST(s.brevity_penalty == 1.0);
  BOOST_TEST(s.candidate_length == 7u);
  BOOST_TEST(s.reference_length == 6u);
  BOOST_TEST(s.bleu == 0.0);
}

// Add-one for n > 1: p1 = 2/7, p2 = 1/7, p3 = 1/6, p4 = 1/5, BP = 1
// BLEU = 100 * (2/7 * 1/7 * 1/6 * 1/5)^(1/4) = 100 * (2/1470)^(1/4) = 19.2056126...
BOOST_AUTO_TEST_CASE(papineni_smoothed) {
  const BleuScore s = score({"the the the the the the the"}, {"the cat is on the mat"}, true);
  BOOST_TEST(std::abs(s.precisions[0] - 100.0 * 2.0 / 7.0) < kTol);  // p1 is never smoothed
  BOOST_TEST(std::abs(s.precisions[1] - 100.0 / 7.0) < kTol);
  BOOST_TEST(std::abs(s.precisions[2] - 100.0 / 6.0) < kTol);
  BOOST_TEST(std::abs(s.precisions[3] - 100.0 / 5.0) < kTol);
  BOOST_TEST(std::abs(s.bleu - 100.0 * std::pow(2.0 / 1470.0, 0.25)) < kTol);
  BOOST_TEST(std::abs(s.bleu - 19.205612637) < 1e-8);
}

BOOST_AUTO_TEST_CASE(perfect_match_is_100) {
  const BleuScore s = score({"the cat sat on the mat", "a b c d"}, {"the cat sat on the mat", "a b c d"});
  check_counts(s, {10, 8, 6, 4}, {10, 8, 6, 4});
  for (double p : s.precisions) BOOST_TEST(std::abs(p - 100.0) < kTol);
  BOOST_TEST(s.brevity_penalty == 1.0);
  BOOST_TEST(std::abs(s.bleu - 100.0) < kTol);
}

// Candidate "a b c d e f" is a prefix of the 8-token reference "a b c d e f g h": every n-gram
// matches (6/6, 5/5, 4/4, 3/3) and only the brevity penalty acts.
// c = 6 <= r = 8 -> BP = exp(1 - 8/6) = exp(-1/3); BLEU = 100 exp(-1/3) = 71.6531310...
BOOST_AUTO_TEST_CASE(short_candidate_gets_exact_brevity_penalty) {
  const BleuScore s = score({"a b c d e f"}, {"a b c d e f g h"});
  check_counts(s, {6, 5, 4, 3}, {6, 5, 4, 3});
  BOOST_TEST(std::abs(s.brevity_penalty - std::exp(-1.0 / 3.0)) < kTol);
  BOOST_TEST(std::abs(s.bleu - 100.0 * std::exp(-1.0 / 3.0)) < kTol);
  BOOST_TEST(std::abs(s.bleu - 71.653131057) < 1e-8);
}

// A longer candidate is not penalised: c = 3 > r = 2 -> BP = 1 (precision already pays).
BOOST_AUTO_TEST_CASE(long_candidate_has_no_brevity_penalty) {
  BOOST_TEST(score({"a b c"}, {"a b"}).brevity_penalty == 1.0);
  BOOST_TEST(score({"a b"}, {"a b"}).brevity_penalty == 1.0);  // c == r: exp(0)
}

// "a b c x d e f" vs "a b c y d e f":
//   unigrams  a b c x d e f           -> 6/7 (x missing)
//   bigrams   ab bc cx xd de ef       -> ab bc de ef = 4/6
//   trigrams  abc bcx cxd xde def     -> abc def = 2/5
//   4-grams   abcx bcxd cxde xdef     -> 0/4  => BLEU = 0
// Smoothed: 6/7, 5/7, 3/6, 1/5 -> BLEU = 100 (6*5*3*1 / (7*7*6*5))^(1/4) = 100 (3/49)^(1/4) = 49.7429220...
BOOST_AUTO_TEST_CASE(no_four_gram_match_gives_zero_unless_smoothed) {
  const BleuScore plain = score({"a b c x d e f"}, {"a b c y d e f"});
  check_counts(plain, {6, 4, 2, 0}, {7, 6, 5, 4});
  BOOST_TEST(plain.precisions[3] == 0.0);
  BOOST_TEST(plain.bleu == 0.0);

  const BleuScore smoothed = score({"a b c x d e f"}, {"a b c y d e f"}, true);
  check_counts(smoothed, {6, 4, 2, 0}, {7, 6, 5, 4});  // raw counts stay unsmoothed
  BOOST_TEST(smoothed.bleu > 0.0);
  BOOST_TEST(std::abs(smoothed.bleu - 100.0 * std::pow(3.0 / 49.0, 0.25)) < kTol);
  BOOST_TEST(std::abs(smoothed.bleu - 49.742922075) < 1e-8);
}

// A 3-token candidate has no 4-grams at all: totals_4 = 0 -> p4 = 0 -> BLEU 0; smoothing gives
// p4 = (0 + 1) / (0 + 1) = 1, p2 = 3/3, p3 = 2/2, p1 = 3/3 -> BLEU 100 (c = r = 3).
BOOST_AUTO_TEST_CASE(candidate_shorter_than_four_tokens) {
  const BleuScore plain = score({"a b c"}, {"a b c"});
  BOOST_TEST(plain.totals[3] == 0u);
  BOOST_TEST(plain.bleu == 0.0);
  BOOST_TEST(std::abs(score({"a b c"}, {"a b c"}, true).bleu - 100.0) < kTol);
}

// Precisions are sums over the corpus, not means of sentence scores.
//   sentence 1: "a b c d" vs "a b c d": 4/4, 3/3, 2/2, 1/1 (sentence BLEU 100)
//   sentence 2: "a b"     vs "c d":     0/2, 0/1, 0/0, 0/0 (sentence BLEU 0)
//   corpus: p = 4/6, 3/4, 2/2, 1/1; c = r = 6 -> BLEU = 100 (4/6 * 3/4)^(1/4) = 100 (1/2)^(1/4)
//   = 84.0896415..., not the sentence mean 50.
BOOST_AUTO_TEST_CASE(precisions_are_summed_over_the_corpus) {
  const BleuScore s = score({"a b c d", "a b"}, {"a b c d", "c d"});
  check_counts(s, {4, 3, 2, 1}, {6, 4, 2, 1});
  BOOST_TEST(std::abs(s.bleu - 100.0 * std::pow(0.5, 0.25)) < kTol);
  BOOST_TEST(std::abs(s.bleu - 84.089641525) < 1e-8);
}

// The full hand computation, with clipping, both sentences contributing and BP < 1.
//
// Sentence 1. candidate "the cat the cat on the mat" (7), reference "the cat is on the mat today again" (8)
//   unigrams: the x3 (ref 2) -> 2, cat x2 (ref 1) -> 1, on 1, mat 1               = 5 / 7
//   bigrams : the-cat x2 (ref 1) -> 1, cat-the 0, cat-on 0, on-the 1, the-mat 1    = 3 / 6
//   trigrams: the-cat-the, cat-the-cat, the-cat-on, cat-on-the 0; on-the-mat 1     = 1 / 5
//   4-grams : the-cat-the-cat, cat-the-cat-on, the-cat-on-the, cat-on-the-mat     = 0 / 4
// Sentence 2. candidate "there is a cat on a mat" (7), reference "there is a cat on the mat" (7)
//   unigrams: there is cat on mat 1 each, a x2 (ref 1) -> 1                       = 6 / 7
//   bigrams : there-is is-a a-cat cat-on match; on-a a-mat do not                 = 4 / 6
//   trigrams: there-is-a is-a-cat a-cat-on match; cat-on-a on-a-mat do not        = 3 / 5
//   4-grams : there-is-a-cat is-a-cat-on match; a-cat-on-a cat-on-a-mat do not    = 2 / 4
// Corpus: p1 = 11/14, p2 = 7/12, p3 = 4/10, p4 = 2/8; product = 616/13440 = 11/240.
//   c = 14 <= r = 15 -> BP = exp(1 - 15/14) = exp(-1/14) = 0.93106277970...
//   (11/240)^(1/4) = 0.46269559069...
//   BLEU = 100 * 0.93106277970 * 0.46269559069 = 43.079864282...
BOOST_AUTO_TEST_CASE(worked_two_sentence_corpus) {
  const BleuScore s = score({"the cat the cat on the mat", "there is a cat on a mat"},
                            {"the cat is on the mat today again", "there is a cat on the mat"});
  check_counts(s, {11, 7, 4, 2}, {14, 12, 10, 8});
  BOOST_TEST(s.candidate_length == 14u);
  BOOST_TEST(s.reference_length == 15u);
  BOOST_TEST(std::abs(s.precisions[0] - 100.0 * 11.0 / 14.0) < kTol);
  BOOST_TEST(std::abs(s.precisions[1] - 100.0 * 7.0 / 12.0) < kTol);
  BOOST_TEST(std::abs(s.precisions[2] - 40.0) < kTol);
  BOOST_TEST(std::abs(s.precisions[3] - 25.0) < kTol);
  BOOST_TEST(std::abs(s.brevity_penalty - 0.9310627797) < 1e-10);
  BOOST_TEST(std::abs(s.bleu - 100.0 * std::exp(-1.0 / 14.0) * std::pow(11.0 / 240.0, 0.25)) < kTol);
  BOOST_TEST(std::abs(s.bleu - 43.079864282) < 1e-8);
  BOOST_TEST(to_string(s) == "BLEU = 43.08 78.6/58.3/40.0/25.0 (BP = 0.931, c = 14, r = 15)");
}

BOOST_AUTO_TEST_CASE(empty_and_mismatched_corpora) {
  const BleuScore empty = corpus_bleu({}, {});
  BOOST_TEST(empty.bleu == 0.0);
  BOOST_TEST(empty.brevity_penalty == 0.0);
  const BleuScore empty_candidate = score({""}, {"a b c d"});
  BOOST_TEST(empty_candidate.bleu == 0.0);
  BOOST_TEST(empty_candidate.reference_length == 4u);
  BOOST_CHECK_THROW(score({"a", "b"}, {"a"}), std::invalid_argument);
}

// Word order matters beyond unigrams: a permutation keeps p1 = 100 but loses the 4-grams.
BOOST_AUTO_TEST_CASE(order_matters) {
  const BleuScore s = score({"d c b a"}, {"a b c d"});
  check_counts(s, {4, 0, 0, 0}, {4, 3, 2, 1});
  BOOST_TEST(s.bleu == 0.0);
}

// ln 5 per token -> perplexity 5; a uniform model over V words has perplexity V.
BOOST_AUTO_TEST_CASE(perplexity_is_exp_of_mean_nll) {
  BOOST_TEST(std::abs(perplexity(10.0 * std::log(5.0), 10) - 5.0) < 1e-12);
  BOOST_TEST(perplexity(0.0, 3) == 1.0);
  BOOST_TEST(std::abs(perplexity(7.0 * std::log(1000.0), 7) - 1000.0) < 1e-9);
  BOOST_CHECK_THROW(perplexity(1.0, 0), std::invalid_argument);
  BOOST_CHECK_THROW(perplexity(-1.0, 3), std::invalid_argument);
  BOOST_CHECK_THROW(perplexity(std::nan(""), 3), std::invalid_argument);
}
