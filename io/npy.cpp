#include "io/npy.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

#include "io/byte_io.hpp"

namespace tapenet {

using io_detail::Bytes;
using io_detail::fail;
using io_detail::put;

namespace {

constexpr std::string_view kNpyMagic("\x93NUMPY", 6);

template <class T>
constexpr const char* npy_descr() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return std::is_same_v<T, float> ? "<f4" : "<f8";
}

// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", exactly as numpy writes it.
std::string npy_dict(const char* descr, const Shape& shape) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + (i + 1 < shape.size() ? ", " : "");
  if (shape.size() == 1) dict += ",";
  return dict + "), }";
}

std::string npy_header(const char* descr, const Shape& shape) {
  std::string dict = npy_dict(descr, shape);
  // Space-pad and end with '\n' so the data starts 64-byte aligned, as numpy does.
  const std::size_t prefix = kNpyMagic.size() + 4;
  dict.append((64 - (prefix + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 0xFFFF) throw CheckpointError("to_npy_bytes: header too long for shape " + shape_str(shape));
  std::string header(kNpyMagic);
  header += '\x01';
  header += '\x00';
  put<std::uint16_t>(header, static_cast<std::uint16_t>(dict.size()));
  return header + dict;
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
  std::size_t data_offset = 0;
};

// Position of the value of 'key' in a Python dict literal.
std::size_t dict_value(std::string_view dict, const std::string& key, const std::string& what) {
  for (const char q : {'\'', '"'}) {
    const std::string quoted_key = q + key + q;
    std::size_t at = dict.find(quoted_key);
    if (at == std::string_view::npos) continue;
    at = dict.find_first_not_of(' ', at + quoted_key.size());
    if (at == std::string_view::npos || dict[at] != ':') break;
    at = dict.find_first_not_of(' ', at + 1);
    if (at != std::string_view::npos) return at;
  }
  fail(what, "malformed .npy header: no '" + key + "' in " + std::string(dict));
}

std::string parse_descr(std::string_view dict, const std::string& what) {
  const std::size_t at = dict_value(dict, "descr", what);
  const std::size_t end = dict.find(dict[at], at + 1);
  if (end == std::string_view::npos || (dict[at] != '\'' && dict[at] != '"'))
    fail(what, "malformed .npy header: 'descr' is not a string (structured dtypes are not supported)");
  return std::string(dict.substr(at + 1, end - at - 1));
}

bool parse_fortran_order(std::string_view dict, const std::string& what) {
  const std::size_t at = dict_value(dict, "fortran_order", what);
  if (dict.compare(at, 4, "True") == 0) return true;
  if (dict.compare(at, 5, "False") == 0) return false;
  fail(what, "malformed .npy header: 'fortran_order' is neither True nor False");
}

Shape parse_shape(std::string_view dict, const std::string& what) {
  std::size_t at = dict_value(dict, "shape", what);
  if (dict[at] != '(') fail(what, "malformed .npy header: 'shape' is not a tuple");
  Shape shape;
  for (++at; at < dict.size() && dict[at] != ')';) {
    if (dict[at] == ' ' || dict[at] == ',') { ++at; continue; }
    if (dict[at] < '0' || dict[at] > '9') fail(what, "malformed .npy header: bad 'shape' " + std::string(dict));
    std::size_t dim = 0;
    for (; at < dict.size() && dict[at] >= '0' && dict[at] <= '9'; ++at) {
      const std::size_t digit = static_cast<std::size_t>(dict[at] - '0');
      if (dim > (std::numeric_limits<std::size_t>::max() - digit) / 10) fail(what, "'shape' overflows");
      dim = dim * 10 + digit;
    }
    if (at < dict.size() && dict[at] == 'L') ++at;  // Python 2 longs
    shape.push_back(dim);
  }
  if (at >= dict.size()) fail(what, "malformed .npy header: unterminated 'shape'");
  return shape;
}

NpyHeader parse_npy_header(const std::string& bytes, const std::string& what) {
  const Bytes in{bytes, what};
  if (in.slice(0, kNpyMagic.size()) != kNpyMagic) fail(what, "not a .npy array (bad magic)");
  const unsigned major = static_cast<unsigned char>(in.slice(6, 1)[0]);
  if (major < 1 || major > 3) fail(what, "unsupported .npy format version " + std::to_string(major));
  // Version 1 has a 2-byte header length; 2 and 3 (long headers, utf-8) have 4 bytes.
  const std::size_t len_size = major == 1 ? 2 : 4;
  const std::size_t start = 8 + len_size;
  const std::uint64_t header_len = in.le(8, len_size);
  const std::string_view dict = in.slice(start, header_len);
  NpyHeader h;
  h.descr = parse_descr(dict, what);
  h.fortran_order = parse_fortran_order(dict, what);
  h.shape = parse_shape(dict, what);
  h.data_offset = start + header_len;
  return h;
}

std::size_t element_count(const Shape& shape, const std::string& what) {
  std::size_t n = 1;
  for (const std::size_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d) fail(what, "shape " + shape_str(shape) + " overflows");
    n *= d;
  }
  return n;
}

// A dtype this reader knows: kind 'f' (float), 'i' (signed), 'u' (unsigned) or 'b' (bool),
// and the size of one element in bytes.
struct Dtype {
  char kind = 0;
  std::size_t size = 0;
};

bool is_integer(const Dtype& d) { return d.kind == 'i' || d.kind == 'u' || d.kind == 'b'; }
bool is_float(const Dtype& d) { return d.kind == 'f' && (d.size == 4 || d.size == 8); }
bool is_bytes(const Dtype& d) { return d.kind == 'u' && d.size == 1; }

// '<f4', '|u1', '=i8' ... as a Dtype; throws for any other descr, naming it.
Dtype parse_dtype(const std::string& descr, const std::string& what, const std::string& expected) {
  const auto unsupported = [&](const std::string& why) {
    fail(what, "unsupported dtype '" + descr + "' (expected " + expected + ")" + why);
  };
  if (descr.size() < 3 || descr.size() > 4 || std::string_view("<>|=").find(descr[0]) == std::string_view::npos)
    unsupported("");
  Dtype d{descr[1], 0};
  for (std::size_t i = 2; i < descr.size(); ++i) {
    if (descr[i] < '0' || descr[i] > '9') unsupported("");
    d.size = d.size * 10 + static_cast<std::size_t>(descr[i] - '0');
  }
  const bool known = (d.kind == 'f' && (d.size == 2 || d.size == 4 || d.size == 8)) ||
                     ((d.kind == 'i' || d.kind == 'u') && (d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8)) ||
                     (d.kind == 'b' && d.size == 1);
  if (!known) unsupported("");
  if (descr[0] == '>' && d.size > 1) unsupported(": big-endian arrays are not supported (save a.astype(a.dtype.newbyteorder('<')))");
  if (d.kind == 'f' && d.size == 2) unsupported(": float16 is not supported (save a.astype(np.float32))");
  return d;
}

// The elements of a Fortran-order array, reordered into C order.
std::string fortran_to_c_order(const char* src, const Shape& shape, std::size_t count, std::size_t item) {
  std::string out(count * item, '\0');
  const std::size_t rank = shape.size();
  std::vector<std::size_t> index(rank, 0), stride(rank, 1);  // Fortran strides, in elements
  for (std::size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  std::size_t from = 0;
  for (std::size_t c = 0; c < count; ++c) {
    std::memcpy(&out[c * item], src + from * item, item);
    for (std::size_t k = rank; k-- > 0;) {  // next C-order index: the last axis runs fastest
      from += stride[k];
      if (++index[k] < shape[k]) break;
      from -= stride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

// A parsed .npy array whose dtype passes `accept` and whose data bytes are exactly what its
// shape needs, with its elements in C order.
struct NpyArray {
  NpyHeader header;
  Dtype dtype;
  std::size_t count = 0;
  const char* data = nullptr;
  std::string reordered;  // the C-order copy of a Fortran-order array
};

NpyArray checked_array(const std::string& bytes, const std::string& what, bool (*accept)(const Dtype&),
                       const std::string& expected) {
  NpyArray a;
  a.header = parse_npy_header(bytes, what);
  const NpyHeader& h = a.header;
  a.dtype = parse_dtype(h.descr, what, expected);
  if (!accept(a.dtype)) fail(what, "unsupported dtype '" + h.descr + "' (expected " + expected + ")");
  const std::size_t item = a.dtype.size;
  a.count = element_count(h.shape, what);
  const std::size_t available = bytes.size() - h.data_offset;
  // Checked before anything is allocated: a header may claim any number of elements.
  if (a.count > available / item || a.count * item != available)
    fail(what, "has " + std::to_string(available) + " data bytes but " + h.descr + " " + shape_str(h.shape) + " needs " +
                   std::to_string(a.count) + " x " + std::to_string(item) + " (truncated or corrupt)");
  a.data = bytes.data() + h.data_offset;
  if (h.fortran_order && h.shape.size() > 1 && a.count > 0) {
    a.reordered = fortran_to_c_order(a.data, h.shape, a.count, item);
    a.data = a.reordered.data();
  }
  return a;
}

template <class From, class T>
void copy_elements(const char* src, std::size_t count, T* dst) {
  if (count == 0) return;  // dst may be null, and memcpy(null, ...) is undefined
  if constexpr (std::is_same_v<From, T>) {
    std::memcpy(dst, src, count * sizeof(T));
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      From v;
      std::memcpy(&v, src + i * sizeof(From), sizeof(From));
      dst[i] = static_cast<T>(v);
    }
  }
}

template <class T>
void copy_floats(const NpyArray& a, T* dst) {
  if (a.dtype.size == 4) copy_elements<float>(a.data, a.count, dst);
  else copy_elements<double>(a.data, a.count, dst);
}

template <class U>
std::int64_t load_int(const char* p) {
  U v;
  std::memcpy(&v, p, sizeof(U));
  return static_cast<std::int64_t>(v);
}

std::vector<std::int64_t> integer_values(const NpyArray& a, const std::string& what) {
  std::vector<std::int64_t> values(a.count);
  const std::size_t item = a.dtype.size;
  for (std::size_t i = 0; i < a.count; ++i) {
    const char* p = a.data + i * item;
    std::int64_t& v = values[i];
    switch (a.dtype.kind == 'i' ? item : 8 + item) {
      case 1: v = load_int<std::int8_t>(p); break;
      case 2: v = load_int<std::int16_t>(p); break;
      case 4: v = load_int<std::int32_t>(p); break;
      case 8: v = load_int<std::int64_t>(p); break;
      case 9: v = a.dtype.kind == 'b' ? (*p != 0) : load_int<std::uint8_t>(p); break;
      case 10: v = load_int<std::uint16_t>(p); break;
      case 12: v = load_int<std::uint32_t>(p); break;
      default: {
        std::uint64_t u;
        std::memcpy(&u, p, sizeof(u));
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          fail(what, "uint64 value " + std::to_string(u) + " at index " + std::to_string(i) + " does not fit in int64");
        v = static_cast<std::int64_t>(u);
      }
    }
  }
  return values;
}

void require_rank_at_most_1(const NpyArray& a, const std::string& what, const std::string& expected) {
  if (a.header.shape.size() > 1) fail(what, "has shape " + shape_str(a.header.shape) + " (expected " + expected + ")");
}

const std::string kIntegers = "an integer or bool array: '|i1' '<i2' '<i4' '<i8' '|u1' '<u2' '<u4' '<u8' '|b1'";

}  // namespace

NpyInfo npy_info(const std::string& bytes, const std::string& what) {
  const NpyHeader h = parse_npy_header(bytes, what);
  return {h.descr, h.fortran_order, h.shape};
}

template <class T>
std::string to_npy_bytes(const Tensor<T>& tensor) {
  std::string bytes = npy_header(npy_descr<T>(), to_shape(tensor.shape()));
  if (tensor.size()) bytes.append(reinterpret_cast<const char*>(tensor.data()), tensor.size() * sizeof(T));
  return bytes;
}

template <class T>
Tensor<T> from_npy_bytes(const std::string& bytes, const std::string& what) {
  const NpyArray a = checked_array(bytes, what, is_float, "'<f4' or '<f8'");
  Tensor<T> tensor(a.header.shape);
  copy_floats(a, tensor.data());
  return tensor;
}

std::string npy_text(const std::string& text) { return npy_header("|u1", {text.size()}) + text; }

std::string text_from_npy(const std::string& bytes, const std::string& what) {
  const std::string expected = "text, a 1-D '|u1' array";
  const NpyArray a = checked_array(bytes, what, is_bytes, expected);
  if (a.header.shape.size() != 1) fail(what, "has shape " + shape_str(a.header.shape) + " (expected " + expected + ")");
  return std::string(a.data, a.count);
}

std::string npy_int64(const std::vector<std::int64_t>& values) {
  std::string bytes = npy_header("<i8", {values.size()});
  if (!values.empty()) bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t));
  return bytes;
}

std::vector<std::int64_t> int64_from_npy(const std::string& bytes, const std::string& what) {
  const std::string expected = "int64, a 0-D or 1-D integer or bool array";
  const NpyArray a = checked_array(bytes, what, is_integer, expected);
  require_rank_at_most_1(a, what, expected);
  return integer_values(a, what);
}

Int64Array int64_array_from_npy(const std::string& bytes, const std::string& what) {
  const NpyArray a = checked_array(bytes, what, is_integer, kIntegers);
  return {a.header.shape, integer_values(a, what)};
}

std::string npy_float64(const std::vector<double>& values) {
  std::string bytes = npy_header("<f8", {values.size()});
  if (!values.empty()) bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  return bytes;
}

std::vector<double> float64_from_npy(const std::string& bytes, const std::string& what) {
  const std::string expected = "float64, a 0-D or 1-D '<f8' or '<f4' array";
  const NpyArray a = checked_array(bytes, what, is_float, expected);
  require_rank_at_most_1(a, what, expected);
  std::vector<double> values(a.count);
  copy_floats(a, values.data());
  return values;
}

#define TAPENET_INSTANTIATE_NPY(T)                                              \
  template std::string to_npy_bytes<T>(const Tensor<T>&);                       \
  template Tensor<T> from_npy_bytes<T>(const std::string&, const std::string&);

TAPENET_INSTANTIATE_NPY(float)
TAPENET_INSTANTIATE_NPY(double)
#undef TAPENET_INSTANTIATE_NPY

}  // namespace tapenet
