// numpy-compatible tensor I/O: .npy (format 1.0, little-endian float32/float64, C order)
// and .npz (a ZIP of "<name>.npy" entries, stored uncompressed, CRC-32 checked).
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

// Every entry of an .npz: name without ".npy" -> raw .npy bytes. Reads through the
// central directory (ZIP64 included), verifies each CRC-32, rejects compressed entries.
std::map<std::string, std::string> read_npz_entries(const std::string& path);

// Writes (name, npy bytes) entries as "<name>.npy" into an .npz, atomically.
void write_npz_atomic(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& entries);

template <class T>
void save_npz(const std::string& path, const std::map<std::string, Tensor<T>>& tensors);

template <class T>
std::map<std::string, Tensor<T>> load_npz(const std::string& path);

}  // namespace tapenet
