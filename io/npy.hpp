/// @file
/// .npy arrays (numpy format 1.0 written; 1.0-3.0 read) as bytes: float32/float64 tensors,
/// integer arrays, float64 records and text (the string's bytes as a 1-D '|u1' array, so
/// numpy reads it as bytes(a).decode()). io/npz.hpp puts such arrays into an .npz file.
///
/// Reading accepts what numpy writes for these types:
/// @code{.unparsed}
///   tensors   '<f4', '<f8' (either loads into float or double, converted)
///   integers  '|i1' '<i2' '<i4' '<i8', '|u1' '<u2' '<u4' '<u8' and '|b1' (bool: 0 or 1),
///             all converted to int64; a uint64 above INT64_MAX is an error
///   float64s  '<f8', '<f4' (widened)
///   text      '|u1'
/// @endcode
/// in C or Fortran order (fortran_order=True is transposed into C order on read). Anything
/// else is a CheckpointError naming the source and the dtype: big-endian ('>f4'), float16
/// ('<f2'), complex, object, string and structured dtypes. A header whose shape needs more
/// bytes than the array has (e.g. 10^12 elements in a small file) is an error before any
/// allocation.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapenet {

/// Unreadable, corrupt or mismatching file. The message names the file (and the entry).
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The header of a .npy array: its dtype string as written ('<f4', '|u1' ...), its order and
/// shape. Throws for a malformed header (not for an unsupported dtype).
struct NpyInfo {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};
NpyInfo npy_info(const std::string& bytes, const std::string& what);

/// One array as the bytes of a .npy file.
template <class T>
std::string to_npy_bytes(const Tensor<T>& tensor);

/// Parses .npy bytes of a float array. `what` names the source in errors, e.g.
/// "'ckpt.npz' entry 'param/W'".
template <class T>
Tensor<T> from_npy_bytes(const std::string& bytes, const std::string& what);

/// Text as the bytes of a 1-D '|u1' .npy array (the string's bytes, UTF-8 by convention).
std::string npy_text(const std::string& text);

/// The text of a 1-D '|u1' .npy array; any other dtype or rank throws, naming `what`.
std::string text_from_npy(const std::string& bytes, const std::string& what);

/// int64 values as the bytes of a 1-D '<i8' .npy array.
std::string npy_int64(const std::vector<std::int64_t>& values);

/// The values of a 0-D or 1-D integer or bool .npy array, as int64; other dtypes or ranks
/// throw, naming `what`.
std::vector<std::int64_t> int64_from_npy(const std::string& bytes, const std::string& what);

/// An integer or bool array of any rank, as int64 values in C order.
struct Int64Array {
  Shape shape;
  std::vector<std::int64_t> values;
};
Int64Array int64_array_from_npy(const std::string& bytes, const std::string& what);

/// float64 values as the bytes of a 1-D '<f8' .npy array (bit exact: NaN payloads, -0.0).
std::string npy_float64(const std::vector<double>& values);

/// The values of a 0-D or 1-D '<f8' (or '<f4') .npy array; other dtypes or ranks throw.
std::vector<double> float64_from_npy(const std::string& bytes, const std::string& what);

}  // namespace tapenet
