// Helpers shared by the .npy and .npz readers and writers (not part of the API):
// error text, little-endian fields, and a bounds-checked view of a file's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "io/npy.hpp"

namespace tapenet::io_detail {

// Fields are written byte by byte, tensors with memcpy: both assume a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "tapenet I/O assumes a little-endian host");

inline std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// "'path' entry 'name'".
inline std::string entry_what(const std::string& path, const std::string& name) {
  return in_quotes(path) + " entry " + in_quotes(name);
}

[[noreturn]] inline void fail(const std::string& what, const std::string& detail) {
  throw CheckpointError(what + ": " + detail);
}

template <class U>
void put(std::string& out, U value) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

// A bounds-checked view of a file's bytes: reading past the end means a truncated file.
struct Bytes {
  std::string_view data;
  std::string what;

  std::string_view slice(std::uint64_t at, std::uint64_t n) const {
    if (at > data.size() || n > data.size() - at)
      fail(what, "ends before byte " + std::to_string(at + n) + " (file truncated or corrupt)");
    return data.substr(at, n);
  }
  std::uint64_t le(std::uint64_t at, std::size_t n) const {
    std::string_view s = slice(at, n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(static_cast<unsigned char>(s[i])) << (8 * i);
    return v;
  }
  std::uint16_t u16(std::uint64_t at) const { return static_cast<std::uint16_t>(le(at, 2)); }
  std::uint32_t u32(std::uint64_t at) const { return static_cast<std::uint32_t>(le(at, 4)); }
  std::uint64_t u64(std::uint64_t at) const { return le(at, 8); }
};

}  // namespace tapenet::io_detail
