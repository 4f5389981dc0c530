// What the libFuzzer targets of tests/fuzz share: the input as text, a reader call whose
// documented error means "input rejected", and the check that an error's file:line:column
// names a place in the text that was read.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace tapenet::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `read`: true when it returned, false when it threw the reader's documented `Error`
// (then `on_error` sees it). Any other exception escapes, and libFuzzer reports it as a crash.
template <class Error, class Read, class OnError>
bool reading(Read&& read, OnError&& on_error) {
  try {
    read();
    return true;
  } catch (const Error& e) {
    on_error(e);
    return false;
  }
}

template <class Error, class Read>
bool reading(Read&& read) {
  return reading<Error>(read, [](const Error&) {});
}

// Whether line:column (1-based, the column in bytes) is a byte of `text` or the end of one of
// its lines (column = the line's length + 1); `text` starts at line `first_line`.
inline bool names_a_place(std::string_view text, std::size_t first_line, std::size_t line, std::size_t column) {
  if (line < first_line || column < 1) return false;
  std::size_t start = 0;
  for (std::size_t k = first_line; k < line; ++k) {
    const std::size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) return false;  // past the last line
    start = newline + 1;
  }
  const std::size_t end = std::min(text.find('\n', start), text.size());
  return column <= end - start + 1;
}

// Aborts unless a TreeParseError-like error (file(), line(), column(), what()) says
// "file:line:column: ..." with that file and a place of `text`.
template <class Error>
void check_error_place(const Error& e, std::string_view text, const std::string& file, std::size_t first_line) {
  const std::string prefix = file + ":" + std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
  if (e.file() != file || std::string_view(e.what()).substr(0, prefix.size()) != prefix) std::abort();
  if (!names_a_place(text, first_line, e.line(), e.column())) std::abort();
}

}  // namespace tapenet::fuzz
