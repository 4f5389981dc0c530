/// @file
/// Corpus BLEU-4 (Papineni et al. 2002, single reference) and perplexity.
///
/// For n = 1..4, matches_n sums over all sentences the clipped n-gram counts
/// @code{.unparsed}
///   sum_g min(count_candidate(g), count_reference(g))
/// @endcode
/// and totals_n sums the candidate n-gram counts, so long sentences weigh more: the corpus
/// precisions are ratios of sums, not means of sentence precisions.
/// @code{.unparsed}
///   p_n  = matches_n / totals_n
///   BP   = 1 if c > r, else exp(1 - r / c)     (c, r: total candidate / reference tokens)
///   BLEU = 100 * BP * exp((1/4) sum_n log p_n)
/// @endcode
/// Without smoothing BLEU is 0 as soon as one p_n is 0 (this includes totals_n = 0).
/// With add-one smoothing (Lin and Och 2004, "BLEU+1") p_n = (matches_n + 1) / (totals_n + 1)
/// for n > 1; p_1 is never smoothed, so a candidate sharing no word still scores 0.
/// An empty candidate corpus (c = 0) scores 0 with BP = 0.
/// Tokens are compared as byte strings; tokenise both sides the same way beforehand.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "data/text.hpp"  // Tokens

namespace tapenet::data {

struct BleuOptions {
  bool add_one_smoothing = false;  ///< for n > 1 only, see above
};

struct BleuScore {
  static constexpr std::size_t kMaxOrder = 4;

  double bleu = 0.0;                              ///< percent, 0..100
  std::array<double, kMaxOrder> precisions{};     ///< percent, p_1..p_4 (smoothed ones if smoothing)
  std::array<std::size_t, kMaxOrder> matches{};   ///< clipped n-gram matches, n = 1..4
  std::array<std::size_t, kMaxOrder> totals{};    ///< candidate n-grams, n = 1..4
  double brevity_penalty = 0.0;
  std::size_t candidate_length = 0;  ///< c
  std::size_t reference_length = 0;  ///< r
};

/// candidates[i] is scored against references[i]; throws std::invalid_argument if the sizes differ.
BleuScore corpus_bleu(const std::vector<Tokens>& candidates, const std::vector<Tokens>& references,
                      const BleuOptions& options = {});

/// "BLEU = <bleu> <p1>/<p2>/<p3>/<p4> (BP = <bp>, c = <c>, r = <r>)", like sacreBLEU's summary line.
std::string to_string(const BleuScore& score);

/// exp(total NLL / total tokens), the NLL in nats summed over the same tokens that are counted.
/// Throws std::invalid_argument when total_tokens is 0 or the NLL is negative or not finite.
double perplexity(double total_nll, std::size_t total_tokens);

}  // namespace tapenet::data
