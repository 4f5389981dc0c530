// .npy arrays (numpy format 1.0, little-endian, C order) as bytes: float32/float64
// tensors, int64 arrays ('<i8') and text (the string's bytes as a 1-D '|u1' array, so
// numpy reads it as bytes(a).decode()). io/npz.hpp puts such arrays into an .npz file.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapenet {

// Unreadable, corrupt or mismatching file. The message names the file (and the entry).
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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

}  // namespace tapenet
