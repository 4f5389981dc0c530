#include "io/npz.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string_view>

#include <zlib.h>

#include "io/atomic_file.hpp"
#include "io/byte_io.hpp"

namespace tapenet {

using io_detail::Bytes;
using io_detail::entry_what;
using io_detail::fail;
using io_detail::in_quotes;
using io_detail::put;

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

constexpr std::uint16_t kStored = 0, kDeflated = 8;

struct EntryRecord {
  std::string zip_name;
  std::uint16_t method;
  std::uint32_t crc;
  std::uint64_t usize, csize;  // uncompressed, compressed (equal when stored)
  std::uint64_t offset;
};

std::string local_header(const EntryRecord& e) {
  std::string h;
  put(h, kLocalSig);
  put(h, kZip64Version);
  put(h, name_flags(e.zip_name));
  put(h, e.method);
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
  put(h, e.usize);
  put(h, e.csize);
  return h;
}

std::string central_header(const EntryRecord& e) {
  std::string h;
  put(h, kCentralSig);
  put(h, kMadeByUnix);
  put(h, kZip64Version);
  put(h, name_flags(e.zip_name));
  put(h, e.method);
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
  put(h, e.usize);
  put(h, e.csize);
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

// One entry as the central directory describes it, checked against its local header.
struct EntryInfo {
  std::string name;  // without ".npy"
  std::string what;  // "'path' entry 'name'"
  std::uint16_t method = kStored;
  std::uint32_t crc = 0;
  std::uint64_t usize = 0, csize = 0;
  std::uint64_t header_offset = 0, data_offset = 0;  // of the local header, of the (compressed) data
};

// Deflate cannot expand data by more than 1032:1, so an entry claiming more is corrupt:
// this bounds what a small file can make the reader allocate.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// Reads one central directory record at `at`, checks the entry's fields and local header.
// Advances `at` past the record.
EntryInfo read_entry_info(const Bytes& zip, const std::string& path, std::uint64_t& at) {
  if (zip.u32(at) != kCentralSig) fail(zip.what, "corrupt ZIP central directory");
  EntryInfo e;
  const std::uint16_t flags = zip.u16(at + 8);
  e.method = zip.u16(at + 10);
  e.crc = zip.u32(at + 16);
  e.csize = zip.u32(at + 20);
  e.usize = zip.u32(at + 24);
  e.header_offset = zip.u32(at + 42);
  const std::uint16_t name_len = zip.u16(at + 28), extra_len = zip.u16(at + 30), comment_len = zip.u16(at + 32);
  const std::string zip_name(zip.slice(at + kCentralFixed, name_len));
  e.name = strip_npy(zip_name);
  e.what = entry_what(path, e.name);
  apply_zip64_extra(Bytes{zip.slice(at + kCentralFixed + name_len, extra_len), e.what}, e.usize, e.csize, e.header_offset);
  at += kCentralFixed + name_len + extra_len + comment_len;

  if (flags & 1) fail(e.what, "is encrypted");
  if (e.method == kStored) {
    if (e.csize != e.usize) fail(e.what, "stored entry with different compressed and uncompressed sizes (corrupt)");
  } else if (e.method == kDeflated) {
    if (e.usize / kMaxDeflateRatio > e.csize)
      fail(e.what, "claims " + std::to_string(e.usize) + " bytes inflated from " + std::to_string(e.csize) +
                       " compressed ones, more than deflate can produce (corrupt)");
  } else {
    fail(e.what, "uses ZIP compression method " + std::to_string(e.method) +
                     "; only stored (np.savez) and deflated (np.savez_compressed) entries are supported");
  }

  const Bytes entry{zip.data, e.what};
  if (entry.u32(e.header_offset) != kLocalSig) fail(e.what, "corrupt ZIP local header");
  const std::uint16_t local_name_len = entry.u16(e.header_offset + 26), local_extra_len = entry.u16(e.header_offset + 28);
  if (entry.slice(e.header_offset + kLocalFixed, local_name_len) != zip_name)
    fail(e.what, "local header names a different file (corrupt)");
  e.data_offset = e.header_offset + kLocalFixed + local_name_len + local_extra_len;
  entry.slice(e.data_offset, e.csize);  // throws when the data runs past the end of the file
  return e;
}

// Entries sharing bytes are corrupt, or a zip bomb (one compressed block read as many
// entries); refusing them keeps the total read at most what the file's bytes can give.
void check_disjoint(std::vector<EntryInfo> entries, const std::string& path) {
  std::sort(entries.begin(), entries.end(),
            [](const EntryInfo& a, const EntryInfo& b) { return a.header_offset < b.header_offset; });
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const EntryInfo &prev = entries[i - 1], &next = entries[i];
    if (prev.data_offset + prev.csize > next.header_offset)
      fail(in_quotes(path), "entries " + in_quotes(prev.name) + " and " + in_quotes(next.name) + " overlap (corrupt)");
  }
}

// Ends a zlib stream however the function using it leaves.
struct ZStream {
  z_stream z{};
  bool inflating;
  explicit ZStream(bool inflate) : inflating(inflate) {}
  ~ZStream() {
    if (inflating) inflateEnd(&z);
    else deflateEnd(&z);
  }
};

constexpr std::uint64_t kZlibChunk = std::numeric_limits<uInt>::max();

// Raw deflate data (no zlib header, as ZIP stores it) that must inflate to exactly `usize` bytes.
std::string inflate_entry(std::string_view in, std::uint64_t usize, const std::string& what) {
  ZStream s(true);
  if (inflateInit2(&s.z, -MAX_WBITS) != Z_OK) fail(what, "cannot start zlib inflate");
  std::string out(usize, '\0');
  std::uint64_t in_pos = 0, out_pos = 0;
  for (;;) {
    const uInt in_chunk = static_cast<uInt>(std::min<std::uint64_t>(in.size() - in_pos, kZlibChunk));
    const uInt out_chunk = static_cast<uInt>(std::min<std::uint64_t>(usize - out_pos, kZlibChunk));
    s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
    s.z.avail_in = in_chunk;
    s.z.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    s.z.avail_out = out_chunk;
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    in_pos += in_chunk - s.z.avail_in;
    out_pos += out_chunk - s.z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR)  // no progress possible: input or room for output ran out first
      fail(what, out_pos == usize ? "inflates to more than its stated " + std::to_string(usize) + " bytes (corrupt)"
                                  : "deflate data ends early (truncated or corrupt)");
    if (rc != Z_OK) fail(what, "corrupt deflate data (zlib: " + std::string(s.z.msg ? s.z.msg : "error") + ")");
  }
  if (out_pos != usize)
    fail(what, "inflates to " + std::to_string(out_pos) + " bytes, not its stated " + std::to_string(usize) + " (corrupt)");
  return out;
}

std::string deflate_entry(const std::string& in, const std::string& what) {
  ZStream s(false);
  if (deflateInit2(&s.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail(what, "cannot start zlib deflate");
  std::string out(deflateBound(&s.z, in.size()), '\0');
  std::uint64_t in_pos = 0, out_pos = 0;
  for (int rc = Z_OK; rc != Z_STREAM_END;) {
    const uInt in_chunk = static_cast<uInt>(std::min<std::uint64_t>(in.size() - in_pos, kZlibChunk));
    const uInt out_chunk = static_cast<uInt>(std::min<std::uint64_t>(out.size() - out_pos, kZlibChunk));
    s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
    s.z.avail_in = in_chunk;
    s.z.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    s.z.avail_out = out_chunk;
    rc = deflate(&s.z, in_pos + in_chunk == in.size() ? Z_FINISH : Z_NO_FLUSH);
    in_pos += in_chunk - s.z.avail_in;
    out_pos += out_chunk - s.z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) fail(what, "zlib deflate failed");
  }
  out.resize(out_pos);
  return out;
}

// The entry's .npy bytes, inflated when deflated, CRC-32 checked.
std::string entry_bytes(const Bytes& zip, const EntryInfo& e) {
  const std::string_view stored = zip.data.substr(e.data_offset, e.csize);  // bounds checked by read_entry_info
  std::string data = e.method == kDeflated ? inflate_entry(stored, e.usize, e.what) : std::string(stored);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // tests/fuzz: let mutated entries reach the .npy parser
  if (crc32(data.data(), data.size()) != e.crc) fail(e.what, "CRC-32 mismatch (file corrupt)");
#endif
  return data;
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(in_quotes(path), "cannot open: " + std::string(std::strerror(errno)));
  // A directory opens too, and its "size" can be 2^63 - 1 (ext4): never allocate for it.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(in_quotes(path), "is a directory, not an .npz file");
  const std::streamoff size = in.tellg();
  if (size < 0) fail(in_quotes(path), "cannot determine size (not a regular file?)");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) fail(in_quotes(path), "read failed");
  return bytes;
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

std::string npz_entry_what(const std::string& path, const std::string& name) { return entry_what(path, name); }

std::map<std::string, std::string> npz_entries_from_bytes(const std::string& file, const std::string& path) {
  const Bytes zip{file, in_quotes(path)};
  const CentralDirectory cd = find_central_directory(zip);
  std::vector<EntryInfo> infos;
  std::set<std::string> names;
  const std::uint64_t cd_end = cd.offset + cd.size;
  for (std::uint64_t at = cd.offset, i = 0; i < cd.count; ++i) {
    if (at >= cd_end) fail(in_quotes(path), "ZIP central directory lists more entries than it holds (corrupt)");
    infos.push_back(read_entry_info(zip, path, at));
    if (!names.insert(infos.back().name).second) fail(infos.back().what, "appears twice");
  }
  check_disjoint(infos, path);
  std::map<std::string, std::string> entries;
  for (const EntryInfo& e : infos) entries.emplace(e.name, entry_bytes(zip, e));
  return entries;
}

std::map<std::string, std::string> read_npz_entries(const std::string& path) {
  return npz_entries_from_bytes(read_file_bytes(path), path);
}

void write_npz_atomic(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries,
                      const NpzWriteOptions& options) {
  check_entry_names(path, entries);
  AtomicFile file(path);
  std::vector<EntryRecord> records;
  std::uint64_t offset = 0;
  for (const auto& [name, bytes] : entries) {
    const std::uint32_t crc = crc32(bytes.data(), bytes.size());
    const std::string deflated = options.compress ? deflate_entry(bytes, entry_what(path, name)) : std::string();
    const std::string& data = options.compress ? deflated : bytes;
    records.push_back({name + ".npy", options.compress ? kDeflated : kStored, crc, bytes.size(), data.size(), offset});
    const std::string header = local_header(records.back());
    file.write(header);
    file.write(data);
    offset += header.size() + data.size();
  }
  std::string directory;
  for (const EntryRecord& r : records) directory += central_header(r);
  file.write(directory + end_records(records.size(), offset, directory.size()));
  file.commit();
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

Int64Array NpzEntries::int64_array(const std::string& name) const {
  return int64_array_from_npy(bytes(name), entry_what(path_, name));
}

std::vector<double> NpzEntries::doubles(const std::string& name) const {
  return float64_from_npy(bytes(name), entry_what(path_, name));
}

#define TAPENET_INSTANTIATE_NPZ(T)                                                        \
  template void save_npz<T>(const std::string&, const std::map<std::string, Tensor<T>>&); \
  template std::map<std::string, Tensor<T>> load_npz<T>(const std::string&);             \
  template Tensor<T> NpzEntries::tensor<T>(const std::string&) const;

TAPENET_INSTANTIATE_NPZ(float)
TAPENET_INSTANTIATE_NPZ(double)
#undef TAPENET_INSTANTIATE_NPZ

}  // namespace tapenet
