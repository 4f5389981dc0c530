// numpy-compatible tensor I/O: .npy (format 1.0, little-endian float32/float64, C order)
// and .npz (a ZIP of "<name>.npy" entries, stored uncompressed, CRC-32 checked).
// Besides float tensors an .npz holds typed entries: int64 arrays ('<i8') and text (the
// string's bytes as a 1-D '|u1' array, so numpy reads it as bytes(np.load(f)[name]).decode()).
// Files written here load with numpy.load; files from np.savez load here. Writes are
// atomic (temp file + fsync + rename), so an interrupted save keeps the previous file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapenet {

// Unreadable, corrupt or mismatching file. The message names the file (and the entry).
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The CRC-32 of ZIP (IEEE 802.3, reflected polynomial 0xEDB88320).
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

// One array as the bytes of a .npy file.
template <class T>
std::string to_npy_bytes(const Tensor<T>& tensor);

// Parses .npy bytes. '<f4' and '<f8' both load into either T (converted when they
// differ). `what` names the source in errors, e.g. "'ckpt.npz' entry 'param/W'".
template <class T>
Tensor<T> from_npy_bytes(const std::string& bytes, const std::string& what);

// Text as the bytes of a 1-D '|u1' .npy array (the string's bytes, UTF-8 by convention).
std::string npy_text(const std::string& text);

// The text of a 1-D '|u1' .npy array; any other dtype or rank throws, naming `what`.
std::string text_from_npy(const std::string& bytes, const std::string& what);

// int64 values as the bytes of a 1-D '<i8' .npy array.
std::string npy_int64(const std::vector<std::int64_t>& values);

// The values of a 0-D or 1-D '<i8' .npy array; any other dtype or rank throws, naming `what`.
std::vector<std::int64_t> int64_from_npy(const std::string& bytes, const std::string& what);

// "'path' entry 'name'": how errors name one entry of an .npz.
std::string npz_entry_what(const std::string& path, const std::string& name);

// Every entry of an .npz: name without ".npy" -> raw .npy bytes. Reads through the
// central directory (ZIP64 included), verifies each CRC-32, rejects compressed entries.
std::map<std::string, std::string> read_npz_entries(const std::string& path);

// Writes (name, npy bytes) entries as "<name>.npy" into an .npz, atomically.
void write_npz_atomic(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& entries);

// The entries of one .npz, read once and then taken by name and type. A missing entry or
// one of another type throws CheckpointError naming the file and the entry.
//   write_npz_atomic(path, {{"weights", to_npy_bytes(w)}, {"step", npy_int64({42})},
//                           {"cell", npy_text("lstm")}});
//   const NpzEntries npz(path);
//   npz.tensor<float>("weights"); npz.int64s("step"); npz.text("cell");
class NpzEntries {
 public:
  explicit NpzEntries(std::string path);

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  // name -> raw .npy bytes, in name order.
  const std::map<std::string, std::string>& all() const { return entries_; }
  const std::string& bytes(const std::string& name) const;

  template <class T>
  Tensor<T> tensor(const std::string& name) const;
  std::vector<std::int64_t> int64s(const std::string& name) const;
  std::string text(const std::string& name) const;

 private:
  std::string path_;
  std::map<std::string, std::string> entries_;
};

template <class T>
void save_npz(const std::string& path, const std::map<std::string, Tensor<T>>& tensors);

template <class T>
std::map<std::string, Tensor<T>> load_npz(const std::string& path);

}  // namespace tapenet
