// libFuzzer target: the .npz reader (ZIP, ZIP64, deflate) from memory, then every entry
// through the typed readers. Only CheckpointError may escape a reader.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "io/npz.hpp"
#include "fuzz_support.hpp"

using namespace tapenet;

using tapenet::fuzz::reading;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(tapenet::fuzz::text_of(data, size));
  std::map<std::string, std::string> entries;
  if (!reading<CheckpointError>([&] { entries = npz_entries_from_bytes(bytes, "fuzz.npz"); })) return 0;
  std::size_t total = 0;
  for (const auto& [name, npy] : entries) total += npy.size();
  // Entries never share bytes, and deflate expands at most 1032:1.
  if (total > 1032 * size + 1) std::abort();
  for (const auto& entry : entries) {
    const std::string& npy = entry.second;
    const std::string what = npz_entry_what("fuzz.npz", entry.first);
    reading<CheckpointError>([&] { from_npy_bytes<float>(npy, what); });
    reading<CheckpointError>([&] { int64_array_from_npy(npy, what); });
    reading<CheckpointError>([&] { text_from_npy(npy, what); });
  }
  return 0;
}
