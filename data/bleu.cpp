#include "data/bleu.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace tapenet::data {

namespace {

using NgramCounts = std::map<std::vector<std::string>, std::size_t>;

NgramCounts count_ngrams(const Tokens& tokens, std::size_t n) {
  NgramCounts counts;
  for (std::size_t i = 0; i + n <= tokens.size(); ++i)
    ++counts[Tokens(tokens.begin() + static_cast<std::ptrdiff_t>(i),
                    tokens.begin() + static_cast<std::ptrdiff_t>(i + n))];
  return counts;
}

// A candidate n-gram counts at most as often as it occurs in the reference ("clipping"), so
// repeating a correct word cannot raise the precision.
std::size_t clipped_matches(const NgramCounts& candidate, const NgramCounts& reference) {
  std::size_t matches = 0;
  for (const auto& [ngram, count] : candidate) {
    const auto it = reference.find(ngram);
    if (it != reference.end()) matches += std::min(count, it->second);
  }
  return matches;
}

void add_sentence(BleuScore& score, const Tokens& candidate, const Tokens& reference) {
  score.candidate_length += candidate.size();
  score.reference_length += reference.size();
  for (std::size_t n = 1; n <= BleuScore::kMaxOrder; ++n) {
    const NgramCounts cand = count_ngrams(candidate, n);
    score.matches[n - 1] += clipped_matches(cand, count_ngrams(reference, n));
    score.totals[n - 1] += candidate.size() >= n ? candidate.size() - n + 1 : 0;
  }
}

double brevity_penalty(std::size_t c, std::size_t r) {
  if (c == 0) return 0.0;
  if (c > r) return 1.0;
  return std::exp(1.0 - static_cast<double>(r) / static_cast<double>(c));
}

}  // namespace

BleuScore corpus_bleu(const std::vector<Tokens>& candidates, const std::vector<Tokens>& references,
                      const BleuOptions& options) {
  if (candidates.size() != references.size())
    throw std::invalid_argument("corpus_bleu: " + std::to_string(candidates.size()) + " candidates but " +
                                std::to_string(references.size()) + " references");
  BleuScore score;
  for (std::size_t i = 0; i < candidates.size(); ++i) add_sentence(score, candidates[i], references[i]);

  double log_sum = 0.0;
  bool any_zero = false;
  for (std::size_t n = 1; n <= BleuScore::kMaxOrder; ++n) {
    const bool smooth = options.add_one_smoothing && n > 1;
    const double matches = static_cast<double>(score.matches[n - 1]) + (smooth ? 1.0 : 0.0);
    const double totals = static_cast<double>(score.totals[n - 1]) + (smooth ? 1.0 : 0.0);
    const double p = totals > 0.0 ? matches / totals : 0.0;
    score.precisions[n - 1] = 100.0 * p;
    if (p == 0.0) any_zero = true;
    else log_sum += std::log(p);
  }
  score.brevity_penalty = brevity_penalty(score.candidate_length, score.reference_length);
  if (!any_zero)
    score.bleu = 100.0 * score.brevity_penalty * std::exp(log_sum / static_cast<double>(BleuScore::kMaxOrder));
  return score;
}

std::string to_string(const BleuScore& score) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f, c = %zu, r = %zu)", score.bleu,
                score.precisions[0], score.precisions[1], score.precisions[2], score.precisions[3],
                score.brevity_penalty, score.candidate_length, score.reference_length);
  return buffer;
}

double perplexity(double total_nll, std::size_t total_tokens) {
  if (total_tokens == 0) throw std::invalid_argument("perplexity: no tokens");
  if (!std::isfinite(total_nll) || total_nll < 0.0)
    throw std::invalid_argument("perplexity: total NLL must be finite and >= 0, got " + std::to_string(total_nll));
  return std::exp(total_nll / static_cast<double>(total_tokens));
}

}  // namespace tapenet::data
