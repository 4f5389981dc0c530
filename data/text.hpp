/// @file
/// UTF-8 helpers and the text normalisation used for translation data.
///
/// Normalisation (normalize_tokens), in this order, per code point:
/// @code{.unparsed}
///   1. Apostrophe variants U+2019, U+2018, U+02BC become ASCII '.  (the data uses ‘ and ’ as
///      apostrophes: "J‘aime", "C’est").
///   2. lowercase (optional): ASCII, Latin-1 Supplement (À-Þ → à-þ, not ×) and Latin Extended-A
///      (Œ → œ, Ÿ → ÿ, İ → i, ...). Other scripts are left unchanged.
///   3. strip_accents (optional): the PyTorch tutorial's unicodeToAscii, i.e. NFD followed by
///      dropping combining marks, for Latin-1 and Latin Extended-A: é → e, Ç → C, ñ → n.
///      Letters with no canonical decomposition stay (œ, æ, ø, ß, ł), as they do under NFD, and
///      combining marks U+0300-U+036F already in the input are dropped.
///   4. Unicode White_Space (U+00A0, U+202F, U+2009, U+2000-U+200A, U+3000, tab, ...) separates
///      tokens; invisible format characters (soft hyphen U+00AD, U+200B-U+200D, U+2060, U+FEFF)
///      are removed without separating.
///   5. split_punctuation (optional): each of  . , ! ? ; : « » " ( ) [ ] { } “ ” „ ‹ › ¡ ¿ … ‽
///      becomes a token of its own, except '.' and ',' between two digits ("3.5", "10,000").
///   6. Apostrophe policy (with split_punctuation): an apostrophe between two word characters
///      ends the token and stays on its left side, in every language alike:
///        "l'homme" → "l' homme", "qu'est-ce" → "qu' est-ce", "i'm" → "i' m", "don't" → "don' t".
///      Any other apostrophe (a quote, "students'") is a token "'" of its own. Hyphens are kept
///      inside words ("peut-être"). Without split_punctuation apostrophes stay inside tokens.
/// @endcode
/// Runs of separators collapse, so the result never has empty tokens.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tapenet::data {

using Tokens = std::vector<std::string>;

/// Malformed UTF-8; offset() is the byte offset of the first bad sequence.
class Utf8Error : public std::invalid_argument {
 public:
  Utf8Error(const std::string& what, std::size_t offset) : std::invalid_argument(what), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

/// One decoded code point; length == 0 means the bytes at that position are not valid UTF-8
/// (overlong forms, surrogates, > U+10FFFF, stray or missing continuation bytes).
struct CodePoint {
  char32_t value = 0;
  std::size_t length = 0;
};

CodePoint decode_utf8_at(std::string_view s, std::size_t pos);

/// Byte offset of the first malformed sequence, or nullopt when `s` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return !find_invalid_utf8(s).has_value(); }

std::u32string decode_utf8(std::string_view s);  ///< throws Utf8Error
void append_utf8(std::string& out, char32_t cp);  ///< throws std::invalid_argument on surrogates, > U+10FFFF
std::string encode_utf8(std::u32string_view cps);

/// Single code point mappings used by the normaliser.
char32_t to_lower(char32_t cp);
char32_t strip_accent(char32_t cp);
bool is_unicode_space(char32_t cp);

struct NormalizeOptions {
  bool lowercase = true;
  bool strip_accents = false;  ///< the PyTorch tutorial's unicodeToAscii
  bool split_punctuation = true;
};

/// Normalised tokens of one UTF-8 sentence (see the header comment). Throws Utf8Error.
Tokens normalize_tokens(std::string_view text, const NormalizeOptions& options = {});
/// The same tokens joined by single spaces.
std::string normalize(std::string_view text, const NormalizeOptions& options = {});
/// Split on ASCII spaces, dropping empty pieces: the inverse of joining normalised tokens.
Tokens split_on_spaces(std::string_view text);
std::string join_tokens(const Tokens& tokens);

}  // namespace tapenet::data
