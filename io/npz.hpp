/// @file
/// .npz files: a ZIP of "<name>.npy" entries (io/npy.hpp), CRC-32 checked. Files written
/// here load with numpy.load; files from np.savez and np.savez_compressed (deflated entries,
/// via zlib) load here. An .npz may mix float tensors, integer arrays, float64 records and
/// text entries. Writes are uncompressed unless NpzWriteOptions::compress, and atomic
/// (io/atomic_file.hpp), so an interrupted save keeps the previous file.
///
/// A malformed file is a CheckpointError naming the file (and the entry when there is one):
/// truncation, bad records, sizes or offsets beyond the file, entries sharing bytes, an entry
/// claiming more bytes than deflate can produce from its data (1032:1), corrupt deflate data,
/// a CRC-32 mismatch, encryption, other compression methods. Sizes are checked against the
/// file before anything is allocated for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"
#include "io/npy.hpp"

namespace tapenet {

/// The CRC-32 of ZIP (IEEE 802.3, reflected polynomial 0xEDB88320).
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

/// "'path' entry 'name'": how errors name one entry of an .npz.
std::string npz_entry_what(const std::string& path, const std::string& name);

/// Every entry of an .npz: name without ".npy" -> raw .npy bytes (inflated). Reads through
/// the central directory (ZIP64 included) and verifies each CRC-32.
std::map<std::string, std::string> read_npz_entries(const std::string& path);

/// The same for an .npz held in memory; `path` names it in errors.
std::map<std::string, std::string> npz_entries_from_bytes(const std::string& bytes, const std::string& path);

struct NpzWriteOptions {
  bool compress = false;  ///< deflate every entry, as np.savez_compressed does
};

/// Writes (name, npy bytes) entries as "<name>.npy" into an .npz, atomically.
void write_npz_atomic(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& entries,
                      const NpzWriteOptions& options = {});

/// The entries of one .npz, read once and then taken by name and type. A missing entry or
/// one of another type throws CheckpointError naming the file and the entry.
/// @code
///   write_npz_atomic(path, {{"weights", to_npy_bytes(w)}, {"step", npy_int64({42})},
///                           {"cell", npy_text("lstm")}});
///   const NpzEntries npz(path);
///   npz.tensor<float>("weights"); npz.int64s("step"); npz.text("cell");
/// @endcode
/// int64s/int64_array read any integer or bool dtype (io/npy.hpp), doubles '<f8' or '<f4'.
class NpzEntries {
 public:
  explicit NpzEntries(std::string path);

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  /// name -> raw .npy bytes, in name order.
  const std::map<std::string, std::string>& all() const { return entries_; }
  const std::string& bytes(const std::string& name) const;

  template <class T>
  Tensor<T> tensor(const std::string& name) const;
  std::vector<std::int64_t> int64s(const std::string& name) const;
  std::string text(const std::string& name) const;
  Int64Array int64_array(const std::string& name) const;  ///< any rank
  std::vector<double> doubles(const std::string& name) const;

 private:
  std::string path_;
  std::map<std::string, std::string> entries_;
};

template <class T>
void save_npz(const std::string& path, const std::map<std::string, Tensor<T>>& tensors);

template <class T>
std::map<std::string, Tensor<T>> load_npz(const std::string& path);

}  // namespace tapenet
