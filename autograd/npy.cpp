#include "autograd/npy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <string_view>
#include <type_traits>

namespace tapenet {

// Tensors are written with memcpy; .npy and ZIP fields are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "tapenet I/O assumes a little-endian host");

namespace {

// ---------------------------------------------------------------- CRC-32

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

// ---------------------------------------------------------------- errors

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

std::string entry_what(const std::string& path, const std::string& name) {
  return in_quotes(path) + " entry " + in_quotes(name);
}

[[noreturn]] void fail(const std::string& what, const std::string& detail) {
  throw CheckpointError(what + ": " + detail);
}

std::string errno_text() { return std::strerror(errno); }

// ---------------------------------------------------------------- little-endian bytes

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

// ---------------------------------------------------------------- .npy

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

// A parsed .npy array whose dtype is one of `dtypes` and whose data bytes are exactly
// what its shape needs.
struct NpyArray {
  NpyHeader header;
  std::size_t count = 0;
  const char* data = nullptr;
};

NpyArray checked_array(const std::string& bytes, const std::string& what, std::initializer_list<std::string_view> dtypes,
                       const std::string& expected) {
  NpyArray a{parse_npy_header(bytes, what)};
  const NpyHeader& h = a.header;
  if (h.fortran_order) fail(what, "fortran_order=True is not supported (save np.ascontiguousarray(a))");
  if (std::find(dtypes.begin(), dtypes.end(), h.descr) == dtypes.end())
    fail(what, "unsupported dtype '" + h.descr + "' (expected " + expected + ")");
  const std::size_t item = static_cast<std::size_t>(h.descr.back() - '0');  // '<f4', '<i8', '|u1'
  a.count = element_count(h.shape, what);
  const std::size_t available = bytes.size() - h.data_offset;
  if (a.count > available / item || a.count * item != available)
    fail(what, "has " + std::to_string(available) + " data bytes but " + h.descr + " " + shape_str(h.shape) + " needs " +
                   std::to_string(a.count) + " x " + std::to_string(item) + " (truncated or corrupt)");
  a.data = bytes.data() + h.data_offset;
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

// ---------------------------------------------------------------- ZIP layout

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint32_t kUse64 = 0xFFFFFFFF;  // "the real value is in the ZIP64 extra field"
constexpr std::uint16_t kZip64Version = 45;
constexpr std::uint16_t kMadeByUnix = (3 << 8) | kZip64Version;
constexpr std::uint16_t kDosDate1980 = (1 << 5) | 1;  // fixed timestamp: same tensors, same bytes
constexpr std::uint16_t kUtf8Flag = 1 << 11;
constexpr std::size_t kLocalFixed = 30, kCentralFixed = 46, kEndFixed = 22, kLocatorSize = 20;

// Every entry is written with ZIP64 sizes (as numpy's force_zip64 does), so the path
// that handles checkpoints over 4 GiB is the one every save exercises.
std::uint16_t name_flags(const std::string& name) {
  const bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  return ascii ? 0 : kUtf8Flag;
}

struct EntryRecord {
  std::string zip_name;
  std::uint32_t crc;
  std::uint64_t size;
  std::uint64_t offset;
};

std::string local_header(const EntryRecord& e) {
  std::string h;
  put(h, kLocalSig);
  put(h, kZip64Version);
  put(h, name_flags(e.zip_name));
  put<std::uint16_t>(h, 0);  // stored
  put<std::uint16_t>(h, 0);
  put(h, kDosDate1980);
  put(h, e.crc);
  put(h, kUse64);
  put(h, kUse64);
  put(h, static_cast<std::uint16_t>(e.zip_name.size()));
  put<std::uint16_t>(h, 20);
  h += e.zip_name;
  put<std::uint16_t>(h, 1);  // ZIP64 extra: uncompressed and compressed size
  put<std::uint16_t>(h, 16);
  put(h, e.size);
  put(h, e.size);
  return h;
}

std::string central_header(const EntryRecord& e) {
  std::string h;
  put(h, kCentralSig);
  put(h, kMadeByUnix);
  put(h, kZip64Version);
  put(h, name_flags(e.zip_name));
  put<std::uint16_t>(h, 0);  // stored
  put<std::uint16_t>(h, 0);
  put(h, kDosDate1980);
  put(h, e.crc);
  put(h, kUse64);
  put(h, kUse64);
  put(h, static_cast<std::uint16_t>(e.zip_name.size()));
  put<std::uint16_t>(h, 28);
  put<std::uint16_t>(h, 0);  // comment
  put<std::uint16_t>(h, 0);  // disk
  put<std::uint16_t>(h, 0);  // internal attributes
  put<std::uint32_t>(h, 0100644u << 16);  // rw-r--r-- when unzipped
  put(h, kUse64);
  h += e.zip_name;
  put<std::uint16_t>(h, 1);  // ZIP64 extra: sizes and local header offset
  put<std::uint16_t>(h, 24);
  put(h, e.size);
  put(h, e.size);
  put(h, e.offset);
  return h;
}

// ZIP64 end record + locator + classic end record (counts clamped to their sentinels).
std::string end_records(std::uint64_t count, std::uint64_t cd_offset, std::uint64_t cd_size) {
  std::string r;
  put(r, kZip64EndSig);
  put<std::uint64_t>(r, 44);  // size of the rest of this record
  put(r, kMadeByUnix);
  put(r, kZip64Version);
  put<std::uint32_t>(r, 0);
  put<std::uint32_t>(r, 0);
  put(r, count);
  put(r, count);
  put(r, cd_size);
  put(r, cd_offset);
  put(r, kZip64LocatorSig);
  put<std::uint32_t>(r, 0);
  put<std::uint64_t>(r, cd_offset + cd_size);
  put<std::uint32_t>(r, 1);  // total disks
  put(r, kEndSig);
  put<std::uint16_t>(r, 0);
  put<std::uint16_t>(r, 0);
  put(r, static_cast<std::uint16_t>(std::min<std::uint64_t>(count, 0xFFFF)));
  put(r, static_cast<std::uint16_t>(std::min<std::uint64_t>(count, 0xFFFF)));
  put(r, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd_size, kUse64)));
  put(r, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd_offset, kUse64)));
  put<std::uint16_t>(r, 0);  // comment
  return r;
}

struct CentralDirectory {
  std::uint64_t count, offset, size;
};

CentralDirectory find_central_directory(const Bytes& zip) {
  if (zip.data.size() < kEndFixed) fail(zip.what, "too short to be an .npz (truncated?)");
  // The end record sits before a comment of up to 64 KiB; its length must reach the end.
  const std::size_t last = zip.data.size() - kEndFixed;
  const std::size_t first = last > 0xFFFF ? last - 0xFFFF : 0;
  std::size_t at = last + 1;
  while (at-- > first) {
    if (zip.u32(at) == kEndSig && at + kEndFixed + zip.u16(at + 20) == zip.data.size()) break;
    if (at == first) fail(zip.what, "no ZIP end record (file truncated or not an .npz)");
  }
  CentralDirectory cd{zip.u16(at + 10), zip.u32(at + 16), zip.u32(at + 12)};
  if (at >= kLocatorSize && zip.u32(at - kLocatorSize) == kZip64LocatorSig) {
    const std::uint64_t end64 = zip.u64(at - kLocatorSize + 8);
    if (zip.u32(end64) != kZip64EndSig) fail(zip.what, "corrupt ZIP64 end record");
    cd = {zip.u64(end64 + 32), zip.u64(end64 + 48), zip.u64(end64 + 40)};
  }
  zip.slice(cd.offset, cd.size);  // throws when the directory lies past the end
  return cd;
}

// Replaces 0xFFFFFFFF fields by their values from the ZIP64 extra field (id 1), which
// lists only the fields that overflowed, in the order usize, csize, offset.
void apply_zip64_extra(const Bytes& extra, std::uint64_t& usize, std::uint64_t& csize, std::uint64_t& offset) {
  for (std::uint64_t at = 0; at + 4 <= extra.data.size();) {
    const std::uint16_t id = extra.u16(at), len = extra.u16(at + 2);
    const Bytes field{extra.slice(at + 4, len), extra.what};
    std::uint64_t pos = 0;
    for (std::uint64_t* value : {&usize, &csize, &offset}) {
      if (id == 1 && *value == kUse64) {
        *value = field.u64(pos);
        pos += 8;
      }
    }
    at += 4 + len;
  }
}

std::string strip_npy(const std::string& zip_name) {
  const std::string suffix = ".npy";
  const bool has = zip_name.size() >= suffix.size() &&
                   zip_name.compare(zip_name.size() - suffix.size(), suffix.size(), suffix) == 0;
  return has ? zip_name.substr(0, zip_name.size() - suffix.size()) : zip_name;
}

// Reads one central directory record at `at`, checks the entry and returns its data.
// Advances `at` past the record.
std::pair<std::string, std::string_view> read_entry(const Bytes& zip, const std::string& path, std::uint64_t& at) {
  if (zip.u32(at) != kCentralSig) fail(zip.what, "corrupt ZIP central directory");
  const std::uint16_t flags = zip.u16(at + 8), method = zip.u16(at + 10);
  const std::uint32_t crc = zip.u32(at + 16);
  std::uint64_t csize = zip.u32(at + 20), usize = zip.u32(at + 24), offset = zip.u32(at + 42);
  const std::uint16_t name_len = zip.u16(at + 28), extra_len = zip.u16(at + 30), comment_len = zip.u16(at + 32);
  const std::string zip_name(zip.slice(at + kCentralFixed, name_len));
  const std::string what = entry_what(path, strip_npy(zip_name));
  apply_zip64_extra(Bytes{zip.slice(at + kCentralFixed + name_len, extra_len), what}, usize, csize, offset);
  at += kCentralFixed + name_len + extra_len + comment_len;

  if (method != 0)
    fail(what, "is compressed (ZIP method " + std::to_string(method) +
                   "); only uncompressed .npz files (np.savez, not np.savez_compressed) are supported");
  if (flags & 1) fail(what, "is encrypted");
  if (csize != usize) fail(what, "stored entry with different compressed and uncompressed sizes (corrupt)");

  const Bytes entry{zip.data, what};
  if (entry.u32(offset) != kLocalSig) fail(what, "corrupt ZIP local header");
  const std::uint16_t local_name_len = entry.u16(offset + 26), local_extra_len = entry.u16(offset + 28);
  if (entry.slice(offset + kLocalFixed, local_name_len) != zip_name) fail(what, "local header names a different file (corrupt)");
  const std::string_view data = entry.slice(offset + kLocalFixed + local_name_len + local_extra_len, usize);
  if (crc32(data.data(), data.size()) != crc) fail(what, "CRC-32 mismatch (file corrupt)");
  return {strip_npy(zip_name), data};
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(in_quotes(path), "cannot open: " + errno_text());
  const std::streamoff size = in.tellg();
  if (size < 0) fail(in_quotes(path), "cannot determine size (not a regular file?)");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) fail(in_quotes(path), "read failed");
  return bytes;
}

// ---------------------------------------------------------------- atomic write

// The temp file of one save: removed unless the save committed it by renaming.
class TempFile {
 public:
  TempFile(std::string target, std::string path) : target_(std::move(target)), path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "wb");
    if (!file_) fail(in_quotes(target_), "cannot create temp file " + in_quotes(path_) + ": " + errno_text());
  }
  ~TempFile() {
    if (file_) std::fclose(file_);
    if (!committed_) std::remove(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(std::string_view bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail(in_quotes(target_), "write failed: " + errno_text());
  }
  // Data on disk before the rename: otherwise a crash could leave a renamed empty file.
  void sync_and_close() {
    if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) fail(in_quotes(target_), "fsync failed: " + errno_text());
    FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) fail(in_quotes(target_), "close failed: " + errno_text());
  }
  void rename_over_target() {
    if (std::rename(path_.c_str(), target_.c_str()) != 0) fail(in_quotes(target_), "rename from temp file failed: " + errno_text());
    committed_ = true;
  }

 private:
  std::string target_, path_;
  FILE* file_ = nullptr;
  bool committed_ = false;
};

// Makes the rename itself durable.
void fsync_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail(in_quotes(path), "saved, but cannot open directory to fsync: " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) fail(in_quotes(path), "saved, but directory fsync failed: " + std::string(std::strerror(err)));
}

void check_entry_names(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  std::set<std::string> seen;
  for (const auto& [name, bytes] : entries) {
    if (!seen.insert(name).second) fail(in_quotes(path), "duplicate entry " + in_quotes(name));
    if (name.size() + 4 > 0xFFFF) fail(in_quotes(path), "entry name longer than 65531 bytes");
  }
}

}  // namespace

std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

template <class T>
std::string to_npy_bytes(const Tensor<T>& tensor) {
  std::string bytes = npy_header(npy_descr<T>(), to_shape(tensor.shape()));
  if (tensor.size()) bytes.append(reinterpret_cast<const char*>(tensor.data()), tensor.size() * sizeof(T));
  return bytes;
}

template <class T>
Tensor<T> from_npy_bytes(const std::string& bytes, const std::string& what) {
  const NpyArray a = checked_array(bytes, what, {"<f4", "<f8"}, "'<f4' or '<f8'");
  Tensor<T> tensor(a.header.shape);
  if (a.header.descr == "<f4") copy_elements<float>(a.data, a.count, tensor.data());
  else copy_elements<double>(a.data, a.count, tensor.data());
  return tensor;
}

std::string npy_text(const std::string& text) { return npy_header("|u1", {text.size()}) + text; }

std::string text_from_npy(const std::string& bytes, const std::string& what) {
  const std::string expected = "text, a 1-D '|u1' array";
  const NpyArray a = checked_array(bytes, what, {"|u1", "<u1"}, expected);
  if (a.header.shape.size() != 1) fail(what, "has shape " + shape_str(a.header.shape) + " (expected " + expected + ")");
  return std::string(a.data, a.count);
}

std::string npy_int64(const std::vector<std::int64_t>& values) {
  std::string bytes = npy_header("<i8", {values.size()});
  if (!values.empty()) bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t));
  return bytes;
}

std::vector<std::int64_t> int64_from_npy(const std::string& bytes, const std::string& what) {
  const NpyArray a = checked_array(bytes, what, {"<i8"}, "int64, a 0-D or 1-D '<i8' array");
  if (a.header.shape.size() > 1)
    fail(what, "has shape " + shape_str(a.header.shape) + " (expected int64, a 0-D or 1-D '<i8' array)");
  std::vector<std::int64_t> values(a.count);
  copy_elements<std::int64_t>(a.data, a.count, values.data());
  return values;
}

std::string npz_entry_what(const std::string& path, const std::string& name) { return entry_what(path, name); }

std::map<std::string, std::string> read_npz_entries(const std::string& path) {
  const std::string file = read_file_bytes(path);
  const Bytes zip{file, in_quotes(path)};
  const CentralDirectory cd = find_central_directory(zip);
  std::map<std::string, std::string> entries;
  std::uint64_t at = cd.offset;
  for (std::uint64_t i = 0; i < cd.count; ++i) {
    auto [name, data] = read_entry(zip, path, at);
    if (!entries.emplace(name, std::string(data)).second) fail(entry_what(path, name), "appears twice");
  }
  return entries;
}

void write_npz_atomic(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  check_entry_names(path, entries);
  TempFile tmp(path, path + ".tmp." + std::to_string(::getpid()));
  std::vector<EntryRecord> records;
  std::uint64_t offset = 0;
  for (const auto& [name, bytes] : entries) {
    records.push_back({name + ".npy", crc32(bytes.data(), bytes.size()), bytes.size(), offset});
    const std::string header = local_header(records.back());
    tmp.write(header);
    tmp.write(bytes);
    offset += header.size() + bytes.size();
  }
  std::string directory;
  for (const EntryRecord& r : records) directory += central_header(r);
  tmp.write(directory + end_records(records.size(), offset, directory.size()));
  tmp.sync_and_close();
  tmp.rename_over_target();
  fsync_directory(path);
}

template <class T>
void save_npz(const std::string& path, const std::map<std::string, Tensor<T>>& tensors) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [name, tensor] : tensors) entries.emplace_back(name, to_npy_bytes(tensor));
  write_npz_atomic(path, entries);
}

template <class T>
std::map<std::string, Tensor<T>> load_npz(const std::string& path) {
  std::map<std::string, Tensor<T>> tensors;
  for (const auto& [name, bytes] : read_npz_entries(path)) tensors.emplace(name, from_npy_bytes<T>(bytes, entry_what(path, name)));
  return tensors;
}

NpzEntries::NpzEntries(std::string path) : path_(std::move(path)), entries_(read_npz_entries(path_)) {}

const std::string& NpzEntries::bytes(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) fail(entry_what(path_, name), "is missing");
  return it->second;
}

template <class T>
Tensor<T> NpzEntries::tensor(const std::string& name) const {
  return from_npy_bytes<T>(bytes(name), entry_what(path_, name));
}

std::vector<std::int64_t> NpzEntries::int64s(const std::string& name) const {
  return int64_from_npy(bytes(name), entry_what(path_, name));
}

std::string NpzEntries::text(const std::string& name) const { return text_from_npy(bytes(name), entry_what(path_, name)); }

#define TAPENET_INSTANTIATE_NPY(T)                                                          \
  template std::string to_npy_bytes<T>(const Tensor<T>&);                                   \
  template Tensor<T> from_npy_bytes<T>(const std::string&, const std::string&);             \
  template void save_npz<T>(const std::string&, const std::map<std::string, Tensor<T>>&);   \
  template std::map<std::string, Tensor<T>> load_npz<T>(const std::string&);               \
  template Tensor<T> NpzEntries::tensor<T>(const std::string&) const;

TAPENET_INSTANTIATE_NPY(float)
TAPENET_INSTANTIATE_NPY(double)
#undef TAPENET_INSTANTIATE_NPY

}  // namespace tapenet
