#include "data/text.hpp"

#include <algorithm>

namespace tapenet::data {

namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Allowed range of the second byte for a lead byte (Unicode Table 3-7), which rules out
// overlong forms, surrogates and code points above U+10FFFF in one place.
struct LeadInfo {
  std::size_t length;
  unsigned char second_lo, second_hi;
};

LeadInfo lead_info(unsigned char b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

CodePoint decode_utf8_at(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return {};
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  if (byte(0) < 0x80) return {byte(0), 1};
  const LeadInfo lead = lead_info(byte(0));
  if (lead.length == 0 || pos + lead.length > s.size()) return {};
  if (byte(1) < lead.second_lo || byte(1) > lead.second_hi) return {};
  char32_t cp = byte(0) & (0xFF >> (lead.length + 1));
  for (std::size_t i = 1; i < lead.length; ++i) {
    if (!is_continuation(byte(i))) return {};
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  return {cp, lead.length};
}

std::optional<std::size_t> find_invalid_utf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const CodePoint cp = decode_utf8_at(s, pos);
    if (cp.length == 0) return pos;
    pos += cp.length;
  }
  return std::nullopt;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) {
    const CodePoint cp = decode_utf8_at(s, pos);
    if (cp.length == 0) throw Utf8Error("invalid UTF-8 at byte " + std::to_string(pos), pos);
    out.push_back(cp.value);
    pos += cp.length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    throw std::invalid_argument("append_utf8: not a Unicode scalar value: " + std::to_string(cp));
  const auto put = [&](unsigned v) { out.push_back(static_cast<char>(v)); };
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xC0 | (cp >> 6));
    put(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    put(0xE0 | (cp >> 12));
    put(0x80 | ((cp >> 6) & 0x3F));
    put(0x80 | (cp & 0x3F));
  } else {
    put(0xF0 | (cp >> 18));
    put(0x80 | ((cp >> 12) & 0x3F));
    put(0x80 | ((cp >> 6) & 0x3F));
    put(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) append_utf8(out, cp);
  return out;
}

char32_t to_lower(char32_t cp) {
  if (cp >= U'A' && cp <= U'Z') return cp + 0x20;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;  // À-Þ, not ×
  if (cp < 0x100 || cp > 0x17F) return cp;
  // Latin Extended-A alternates upper/lower in pairs, with a parity shift at U+0138 and U+0149.
  if (cp == 0x130) return U'i';  // İ: simple lowercase mapping
  if (cp == 0x178) return 0xFF;  // Ÿ → ÿ (its lowercase lives in Latin-1)
  const bool even = cp % 2 == 0;
  if (cp <= 0x137) return even ? cp + 1 : cp;
  if (cp >= 0x139 && cp <= 0x148) return even ? cp : cp + 1;
  if (cp >= 0x14A && cp <= 0x177) return even ? cp + 1 : cp;
  if (cp >= 0x179 && cp <= 0x17E) return even ? cp : cp + 1;
  return cp;
}

char32_t strip_accent(char32_t cp) {
  // Base letter of the canonical (NFD) decomposition of U+00C0..U+017F; '_' = none.
  static constexpr std::string_view kBase =
      "AAAAAA_CEEEEIIII_NOOOOO__UUUUY__"
      "aaaaaa_ceeeeiiii_nooooo__uuuuy_y"
      "AaAaAaCcCcCcCcDd__EeEeEeEeEeGgGg"
      "GgGgHh__IiIiIiIiI___JjKk_LlLlLl_"
      "___NnNnNn___OoOoOo__RrRrRrSsSsSs"
      "SsTtTt__UuUuUuUuUuUuWwYyYZzZzZz_";
  if (cp < 0xC0 || cp > 0x17F) return cp;
  const char base = kBase[cp - 0xC0];
  return base == '_' ? cp : static_cast<char32_t>(base);
}

bool is_unicode_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

namespace {

// Default-ignorable characters seen in the data: removed without splitting the word.
bool is_invisible(char32_t cp) {
  return cp == 0xAD || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

bool is_combining_mark(char32_t cp) { return cp >= 0x300 && cp <= 0x36F; }

bool is_apostrophe(char32_t cp) { return cp == U'\'' || cp == 0x2019 || cp == 0x2018 || cp == 0x2BC; }

bool is_split_punctuation(char32_t cp) {
  static constexpr std::u32string_view kPunct = U".,!?;:«»\"()[]{}“”„‹›¡¿…‽";
  return kPunct.find(cp) != std::u32string_view::npos;
}

bool is_ascii_digit(char32_t cp) { return cp >= U'0' && cp <= U'9'; }

// Letters and digits, approximately: ASCII alphanumerics and everything from U+00C0 up that is
// not a space, punctuation we split, or in the General Punctuation block.
bool is_word_char(char32_t cp) {
  if (cp < 0x80) return (cp >= U'a' && cp <= U'z') || (cp >= U'A' && cp <= U'Z') || is_ascii_digit(cp);
  if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x206F) return false;
  return !is_unicode_space(cp) && !is_invisible(cp) && !is_split_punctuation(cp);
}

class Tokenizer {
 public:
  explicit Tokenizer(const NormalizeOptions& options) : options_(options) {}

  Tokens run(const std::u32string& cps) {
    for (std::size_t i = 0; i < cps.size(); ++i) step(cps, i);
    flush();
    return std::move(tokens_);
  }

 private:
  void step(const std::u32string& cps, std::size_t i) {
    char32_t cp = is_apostrophe(cps[i]) ? U'\'' : cps[i];
    if (options_.lowercase) cp = to_lower(cp);
    if (options_.strip_accents) {
      if (is_combining_mark(cp)) return;
      cp = strip_accent(cp);
    }
    if (is_invisible(cp)) return;
    if (is_unicode_space(cp)) return flush();
    if (!options_.split_punctuation) return append_utf8(current_, cp);
    const char32_t prev = i > 0 ? cps[i - 1] : U' ';
    const char32_t next = i + 1 < cps.size() ? cps[i + 1] : U' ';
    if (cp == U'\'') return apostrophe(is_word_char(prev) && is_word_char(next));
    const bool numeric_separator = (cp == U'.' || cp == U',') && is_ascii_digit(prev) && is_ascii_digit(next);
    if (is_split_punctuation(cp) && !numeric_separator) return standalone(cp);
    append_utf8(current_, cp);
  }

  void apostrophe(bool elision) {
    if (!elision) return standalone(U'\'');
    current_ += '\'';
    flush();
  }

  void standalone(char32_t cp) {
    flush();
    append_utf8(current_, cp);
    flush();
  }

  void flush() {
    if (current_.empty()) return;
    tokens_.push_back(std::move(current_));
    current_.clear();
  }

  NormalizeOptions options_;
  Tokens tokens_;
  std::string current_;
};

}  // namespace

Tokens normalize_tokens(std::string_view text, const NormalizeOptions& options) {
  return Tokenizer(options).run(decode_utf8(text));
}

std::string normalize(std::string_view text, const NormalizeOptions& options) {
  return join_tokens(normalize_tokens(text, options));
}

Tokens split_on_spaces(std::string_view text) {
  Tokens tokens;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    const std::size_t end = std::min(text.find(' ', start), text.size());
    tokens.emplace_back(text.substr(start, end - start));
    pos = end;
  }
  return tokens;
}

std::string join_tokens(const Tokens& tokens) {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += ' ';
    out += tokens[i];
  }
  return out;
}

}  // namespace tapenet::data
