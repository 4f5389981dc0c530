// libFuzzer target: the UTF-8 decoder and the text normaliser (data/text.hpp). Checks
// that the decoder agrees with itself and that encoding undoes decoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "data/text.hpp"
#include "fuzz_support.hpp"

using namespace tapenet::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned char flags = data[0];
  const std::string_view s = tapenet::fuzz::text_of(data + 1, size - 1);

  const auto bad = find_invalid_utf8(s);
  std::size_t pos = 0;  // decode_utf8_at walks the valid prefix to the first bad byte
  while (pos < s.size()) {
    const CodePoint cp = decode_utf8_at(s, pos);
    if (cp.length == 0) break;
    if (cp.length > 4 || pos + cp.length > s.size()) std::abort();
    pos += cp.length;
  }
  if (bad.has_value() != (pos < s.size()) || (bad && *bad != pos)) std::abort();

  NormalizeOptions o;
  o.lowercase = flags & 1;
  o.strip_accents = flags & 2;
  o.split_punctuation = flags & 4;
  // Utf8Error only for invalid UTF-8, at the first bad byte.
  const auto at_the_bad_byte = [&](const Utf8Error& e) {
    if (!bad || e.offset() != *bad) std::abort();
  };
  tapenet::fuzz::reading<Utf8Error>([&] {
    const std::u32string cps = decode_utf8(s);
    if (bad || encode_utf8(cps) != s) std::abort();
    for (const char32_t cp : cps) {
      to_lower(cp);
      strip_accent(cp);
      is_unicode_space(cp);
    }
    const Tokens tokens = normalize_tokens(s, o);
    for (const std::string& t : tokens)
      if (t.empty() || !is_valid_utf8(t) || t.find(' ') != std::string::npos) std::abort();
    if (split_on_spaces(join_tokens(tokens)) != tokens) std::abort();
    if (normalize(s, o) != join_tokens(tokens)) std::abort();
  }, at_the_bad_byte);
  return 0;
}
