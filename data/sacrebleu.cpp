#include "data/sacrebleu.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "data/text.hpp"

namespace tapenet::data {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Step 2's symbols: the ranges { - ~, [ - `, space - &, ( - +, : - @, and '/'.
bool is_13a_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

// Python's str.isspace, which str.split() splits on: Unicode White_Space plus the
// information separators U+001C..U+001F.
bool is_python_space(char32_t cp) { return is_unicode_space(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  std::string out;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(from, start)) != std::string::npos; start = at + from.size()) {
    out.append(s, start, at - start);
    out.append(to);
  }
  out.append(s, start, std::string::npos);
  return out;
}

// Whitespace-separated words of `s` (Python's s.split()); bytes that are not valid UTF-8 stay
// inside words. The rules of tokenize_13a only ever look at ASCII bytes, so they run on bytes.
std::vector<std::string_view> python_split(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t begin = std::string_view::npos;
  for (std::size_t i = 0; i < s.size();) {
    const CodePoint cp = decode_utf8_at(s, i);
    const std::size_t len = cp.length ? cp.length : 1;
    const bool space = cp.length && is_python_space(cp.value);
    if (space && begin != std::string_view::npos) {
      words.push_back(s.substr(begin, i - begin));
      begin = std::string_view::npos;
    } else if (!space && begin == std::string_view::npos) {
      begin = i;
    }
    i += len;
  }
  if (begin != std::string_view::npos) words.push_back(s.substr(begin));
  return words;
}

std::string_view python_rstrip(std::string_view s) {
  std::vector<std::string_view> words = python_split(s);
  if (words.empty()) return s.substr(0, 0);
  return s.substr(0, std::size_t(words.back().data() + words.back().size() - s.data()));
}

Tokens tokens_13a(std::string_view line) { return split_on_spaces(tokenize_13a(python_rstrip(line))); }

}  // namespace

std::string tokenize_13a(std::string_view text) {
  std::string line(text);
  line = replace_all(line, "<skipped>", "");
  line = replace_all(line, "-\n", "");
  line = replace_all(line, "\n", " ");
  line = replace_all(line, "&quot;", "\"");
  line = replace_all(line, "&amp;", "&");
  line = replace_all(line, "&lt;", "<");
  line = replace_all(line, "&gt;", ">");
  line = " " + line + " ";

  std::string a;  // 2. symbols
  for (char c : line) {
    if (is_13a_symbol(c)) a += {' ', c, ' '};
    else a += c;
  }
  std::string b;  // 3a. a non-digit, then '.' or ','
  for (std::size_t i = 0; i < a.size();) {
    if (i + 1 < a.size() && !is_digit(a[i]) && (a[i + 1] == '.' || a[i + 1] == ',')) {
      b += {a[i], ' ', a[i + 1], ' '};
      i += 2;
    } else {
      b += a[i++];
    }
  }
  std::string c;  // 3b. '.' or ',', then a non-digit
  for (std::size_t i = 0; i < b.size();) {
    if (i + 1 < b.size() && (b[i] == '.' || b[i] == ',') && !is_digit(b[i + 1])) {
      c += {' ', b[i], ' ', b[i + 1]};
      i += 2;
    } else {
      c += b[i++];
    }
  }
  std::string d;  // 4. a digit, then '-'
  for (std::size_t i = 0; i < c.size();) {
    if (i + 1 < c.size() && is_digit(c[i]) && c[i + 1] == '-') {
      d += {c[i], ' ', '-', ' '};
      i += 2;
    } else {
      d += c[i++];
    }
  }
  std::string out;  // 5.
  for (std::string_view w : python_split(d)) {
    if (!out.empty()) out += ' ';
    out.append(w);
  }
  return out;
}

BleuScore sacre_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  if (hypotheses.size() != references.size())
    throw std::invalid_argument("sacre_bleu: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                                std::to_string(references.size()) + " references");
  std::vector<Tokens> hyp, ref;
  for (std::size_t i = 0; i < hypotheses.size(); ++i) {
    hyp.push_back(tokens_13a(hypotheses[i]));
    ref.push_back(tokens_13a(references[i]));
  }
  BleuScore s = corpus_bleu(hyp, ref);  // the statistics; the score is recomputed below
  const double c = double(s.candidate_length), r = double(s.reference_length);
  s.brevity_penalty = c >= r ? 1.0 : c > 0 ? std::exp(1.0 - r / c) : 0.0;
  s.bleu = 0;
  s.precisions.fill(0.0);
  if (std::all_of(s.matches.begin(), s.matches.end(), [](std::size_t m) { return m == 0; })) return s;
  double smooth = 1, log_sum = 0;
  for (std::size_t n = 0; n < BleuScore::kMaxOrder; ++n) {
    if (s.totals[n] == 0) return s;  // sacreBLEU: log 0 floored to -1e10, a score of 0
    if (s.matches[n] == 0) {
      smooth *= 2;
      s.precisions[n] = 100.0 / (smooth * double(s.totals[n]));
    } else {
      s.precisions[n] = 100.0 * double(s.matches[n]) / double(s.totals[n]);
    }
    log_sum += std::log(s.precisions[n]);
  }
  s.bleu = s.brevity_penalty * std::exp(log_sum / double(BleuScore::kMaxOrder));
  return s;
}

double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references,
                   const ChrfOptions& options) {
  if (hypotheses.size() != references.size())
    throw std::invalid_argument("corpus_chrf: " + std::to_string(hypotheses.size()) + " hypotheses but " +
                                std::to_string(references.size()) + " references");
  const std::size_t N = options.char_order;
  std::vector<double> hyp_total(N), ref_total(N), match_total(N);
  auto characters = [](const std::string& s) {
    std::u32string out;
    for (char32_t cp : decode_utf8(s))
      if (!is_python_space(cp)) out += cp;
    return out;
  };
  for (std::size_t i = 0; i < hypotheses.size(); ++i) {
    const std::u32string h = characters(hypotheses[i]), r = characters(references[i]);
    for (std::size_t n = 1; n <= N; ++n) {
      std::map<std::u32string, std::size_t> ref_counts;
      for (std::size_t k = 0; k + n <= r.size(); ++k) ++ref_counts[r.substr(k, n)];
      std::map<std::u32string, std::size_t> hyp_counts;
      for (std::size_t k = 0; k + n <= h.size(); ++k) ++hyp_counts[h.substr(k, n)];
      std::size_t matches = 0;
      for (const auto& [gram, count] : hyp_counts) {
        auto it = ref_counts.find(gram);
        if (it != ref_counts.end()) matches += std::min(count, it->second);
      }
      const std::size_t hyp_n = h.size() >= n ? h.size() - n + 1 : 0, ref_n = r.size() >= n ? r.size() - n + 1 : 0;
      hyp_total[n - 1] += ref_n > 0 ? double(hyp_n) : 0.0;
      ref_total[n - 1] += double(ref_n);
      match_total[n - 1] += double(matches);
    }
  }
  double precision = 0, recall = 0;
  std::size_t orders = 0;
  for (std::size_t n = 0; n < N; ++n) {
    if (hyp_total[n] > 0 && ref_total[n] > 0) {
      precision += match_total[n] / hyp_total[n];
      recall += match_total[n] / ref_total[n];
      ++orders;
    }
  }
  if (orders == 0) return 0.0;
  precision /= double(orders);
  recall /= double(orders);
  if (precision + recall == 0) return 0.0;
  const double b2 = options.beta * options.beta;
  return 100.0 * (1 + b2) * precision * recall / (b2 * precision + recall);
}

namespace {

bool no_space_before(const std::string& t) {
  static const char* closing[] = {".", ",", "!", "?", ";", ":", "…", ")", "]", "}", "»", "”", "%"};
  for (const char* c : closing)
    if (t == c) return true;
  return !t.empty() && t[0] == '\'' && t.size() > 1;
}

bool no_space_after(const std::string& t) {
  static const char* opening[] = {"(", "[", "{", "«", "“", "¿", "¡"};
  for (const char* c : opening)
    if (t == c) return true;
  return t.size() > 1 && t.back() == '\'';
}

}  // namespace

std::string detokenize(const std::vector<std::string>& tokens) {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0 && !no_space_before(tokens[i]) && !no_space_after(tokens[i - 1])) out += ' ';
    out += tokens[i];
  }
  return out;
}

}  // namespace tapenet::data
