/// @file
/// The figures MT papers report, computed as sacreBLEU computes them by default, on
/// detokenised, case-sensitive text (one reference per sentence):
///
/// @code{.unparsed}
///   BLEU  (sacreBLEU "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
///         Both sides are tokenised with tokenize_13a, then the corpus statistics of
///         data/bleu.hpp (clipped matches m_n, hypothesis n-grams t_n, lengths c and r) give
///           p_n = m_n / t_n                         when m_n > 0
///           p_n = 1 / (2^k t_n)                     for the k-th order (k = 1, 2, ...) with m_n = 0
///                                                   ("exp" smoothing of mteval-v13a / NIST)
///           BP  = 1 if c >= r, exp(1 - r/c) if 0 < c < r, 0 if c = 0
///           BLEU = 100 BP exp((1/4) sum_n log p_n)
///         and BLEU = 0 when no unigram matches (m_1..m_4 all 0), or when some t_n = 0 (a corpus
///         whose sentences are all shorter than n: sacreBLEU stops there and scores ~0).
/// @endcode
///
/// @code{.unparsed}
///   chrF  (Popović 2015; sacreBLEU "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")
///         Whitespace is removed, then for character n-grams n = 1..6 (code points) the corpus
///         sums of hypothesis n-grams H_n, reference n-grams R_n and clipped matches M_n give,
///         over the orders with H_n > 0 and R_n > 0 (a sentence whose reference has no n-gram of
///         order n adds none of its hypothesis n-grams to H_n),
///           P = mean_n M_n / H_n,   R = mean_n M_n / R_n
///           chrF = 100 (1 + β²) P R / (β² P + R),  β = 2     (0 when P + R = 0 or no order counts)
/// @endcode
///
/// tokenize_13a is mteval-v13a's tokenizer as sacreBLEU's "13a" has it:
/// @code{.unparsed}
///   1. drop "<skipped>", join "-\n" line breaks, newlines become spaces, unescape &quot; &amp;
///      &lt; &gt;; pad the line with a space on each side;
///   2. split off every ASCII symbol of  { | } ~ [ \ ] ^ _ ` ! " # $ % & ( ) * + : ; < = > ? @ /
///      (not the apostrophe, '-', '.', ','), as " x ";
///   3. split '.' and ',' off unless between two digits: "x." -> "x . " when the character before
///      is not a digit, then ".x" -> " . x" when the character after is not a digit (each rule one
///      left-to-right pass of non-overlapping matches, like a regular-expression substitution);
///   4. split a '-' that follows a digit ("5-6" -> "5 - 6");
///   5. collapse whitespace (Python's str.split: Unicode White_Space and U+001C..U+001F).
/// @endcode
/// So "Hello, world!" -> "Hello , world !", "3.5" and "10,000" stay whole, "don't" stays whole.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/bleu.hpp"

namespace tapenet::data {

/// One line as mteval-v13a tokenises it (see above): tokens joined by single spaces.
std::string tokenize_13a(std::string_view line);

/// sacreBLEU's default corpus BLEU of hypotheses[i] against references[i] (raw text; trailing
/// whitespace is ignored). precisions[] are the smoothed ones, as sacreBLEU prints them.
/// Throws std::invalid_argument when the sizes differ.
BleuScore sacre_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);

struct ChrfOptions {
  std::size_t char_order = 6;
  double beta = 2;
};

/// Corpus chrF (0..100) of hypotheses[i] against references[i]; invalid UTF-8 throws Utf8Error.
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                   const ChrfOptions& options = {});

/// Joins word tokens of data/text.hpp back into text for the metrics above: no space before
/// `. , ! ? ; : … ) ] } » ”` or a token starting with an apostrophe, none after `( [ { « “ ¿ ¡`, and
/// a token ending in an apostrophe glues to the next ("i' m" -> "i'm", "l' homme" -> "l'homme").
std::string detokenize(const std::vector<std::string>& tokens);

}  // namespace tapenet::data
