#define BOOST_TEST_MODULE npz_interop
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "io/npz.hpp"
#include "optim/checkpoint.hpp"

// numpy interop of io/: what np.savez / np.savez_compressed / np.save write (integer and
// bool dtypes, Fortran order, float64 records, deflated entries), what is rejected and how,
// and malformed input. The fixtures come from tests/data/make_npz_fixtures.py (numpy 1.24).

using namespace tapenet;
namespace fs = std::filesystem;

namespace {

const fs::path kDataDir = fs::path(__FILE__).parent_path() / "data";
const std::string kPlain = (kDataDir / "numpy_interop.npz").string();
const std::string kCompressed = (kDataDir / "numpy_interop_compressed.npz").string();
using I64 = std::vector<std::int64_t>;
constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min(), kMax64 = std::numeric_limits<std::int64_t>::max();

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  BOOST_FAIL("expected a CheckpointError");
  return "";
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

struct TempDir {
  fs::path dir;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tapenet-interop-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

template <class T>
Tensor<T> iota(const Shape& shape) {
  Tensor<T> t(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(i);
  return t;
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

void put_u64(std::string& bytes, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Offset of the ZIP64 extra's uncompressed size in the first central record tapenet wrote.
std::size_t central_usize_at(const std::string& zip) {
  const std::size_t central = zip.find(std::string("PK\x01\x02", 4));
  const std::size_t name_len = static_cast<unsigned char>(zip[central + 28]) | static_cast<unsigned char>(zip[central + 29]) << 8;
  return central + 46 + name_len + 4;
}

void expect_error(const std::function<void()>& f, const std::string& path, const std::string& entry, const std::string& part) {
  const std::string msg = error_of(f);
  BOOST_TEST(contains(msg, "'" + path + "' entry '" + entry + "'"), msg);
  BOOST_TEST(contains(msg, part), msg);
}

}  // namespace

BOOST_AUTO_TEST_CASE(reads_every_integer_and_bool_dtype_as_int64) {
  for (const std::string& path : {kPlain, kCompressed}) {
    BOOST_TEST_CONTEXT(path) {
      const NpzEntries npz(path);
      BOOST_TEST((npz.int64s("i1") == I64{-128, -1, 0, 127}));
      BOOST_TEST((npz.int64s("i2") == I64{-32768, -1, 0, 32767}));
      BOOST_TEST((npz.int64s("i4") == I64{-2147483648LL, -1, 0, 2147483647}));
      BOOST_TEST((npz.int64s("i8") == I64{kMin64, -1, 0, kMax64}));
      BOOST_TEST((npz.int64s("u1") == I64{0, 1, 200, 255}));
      BOOST_TEST((npz.int64s("u2") == I64{0, 1, 40000, 65535}));
      BOOST_TEST((npz.int64s("u4") == I64{0, 1, 3000000000LL, 4294967295LL}));
      BOOST_TEST((npz.int64s("u8") == I64{0, 1, std::int64_t(1) << 40, kMax64}));
      BOOST_TEST((npz.int64s("b1") == I64{1, 0, 1, 1}));
      BOOST_TEST((npz.int64s("scalar_i2") == I64{-5}));
      const Int64Array m = npz.int64_array("matrix_i4");
      BOOST_TEST((m.shape == Shape{2, 3}));
      BOOST_TEST((m.values == I64{-2, -1, 0, 1, 2, 3}));
      expect_error([&] { npz.int64s("matrix_i4"); }, path, "matrix_i4", "has shape [2,3]");
      expect_error([&] { npz.int64s("u8_too_big"); }, path, "u8_too_big",
                   "uint64 value 9223372036854775808 at index 0 does not fit in int64");
    }
  }
}

BOOST_AUTO_TEST_CASE(fortran_order_is_transposed_into_c_order) {
  for (const std::string& path : {kPlain, kCompressed}) {
    BOOST_TEST_CONTEXT(path) {
      const NpzEntries npz(path);
      BOOST_TEST(same_bits(npz.tensor<float>("f_w32"), iota<float>({2, 3})));
      BOOST_TEST(same_bits(npz.tensor<double>("f_cube64"), iota<double>({2, 3, 4})));
      BOOST_TEST(same_bits(npz.tensor<float>("f_vec"), iota<float>({3})));
      const Int64Array a = npz.int64_array("f_i2");
      BOOST_TEST((a.shape == Shape{3, 4}));
      BOOST_TEST((a.values == I64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
    }
  }
  const std::string npy = read_bytes((kDataDir / "numpy_fortran.npy").string());
  BOOST_TEST(npy_info(npy, "f").fortran_order);
  BOOST_TEST(same_bits(from_npy_bytes<double>(npy, "f"), iota<double>({2, 3, 4})));
  BOOST_TEST(same_bits(from_npy_bytes<float>(npy, "f"), iota<float>({2, 3, 4})));
}

BOOST_AUTO_TEST_CASE(bool_npy_reads_as_zero_and_one) {
  const Int64Array a = int64_array_from_npy(read_bytes((kDataDir / "numpy_bool.npy").string()), "b");
  BOOST_TEST((a.shape == Shape{2, 2}));
  BOOST_TEST((a.values == I64{1, 0, 0, 1}));
}

BOOST_AUTO_TEST_CASE(float64_records) {
  const NpzEntries npz(kCompressed);
  BOOST_TEST((npz.doubles("lr") == std::vector<double>{0.001}));
  const std::vector<double> losses = npz.doubles("losses");
  BOOST_REQUIRE(losses.size() == 4u);
  BOOST_TEST(losses[0] == 2.5);
  BOOST_TEST((losses[1] == 0.0 && std::signbit(losses[1])));
  BOOST_TEST(losses[2] == std::numeric_limits<double>::infinity());
  BOOST_TEST(losses[3] == 1e-300);
  BOOST_TEST((npz.doubles("f_vec") == std::vector<double>{0.0, 1.0, 2.0}));  // '<f4' widened
  expect_error([&] { npz.doubles("i4"); }, kCompressed, "i4", "unsupported dtype '<i4' (expected float64");
  const std::vector<double> back = float64_from_npy(npy_float64(losses), "x");
  BOOST_TEST(std::memcmp(back.data(), losses.data(), sizeof(double) * 4) == 0);
}

BOOST_AUTO_TEST_CASE(deflated_entries_inflate_exactly) {
  const NpzEntries plain(kPlain), compressed(kCompressed);
  for (const auto& [name, bytes] : plain.all()) BOOST_TEST(compressed.bytes(name) == bytes, name);
  const Tensor<float> big = compressed.tensor<float>("big");
  BOOST_TEST((to_shape(big.shape()) == Shape{30, 100}));
  for (std::size_t i = 0; i < big.size(); ++i) BOOST_REQUIRE(big.data()[i] == static_cast<float>(i % 10));
}

BOOST_AUTO_TEST_CASE(unsupported_dtypes_name_file_entry_and_dtype) {
  for (const std::string& path : {kPlain, kCompressed}) {
    const NpzEntries npz(path);
    expect_error([&] { npz.tensor<float>("f16"); }, path, "f16", "float16 is not supported (save a.astype(np.float32))");
    expect_error([&] { npz.tensor<float>("be_f4"); }, path, "be_f4", "'>f4'");
    expect_error([&] { npz.tensor<float>("be_f4"); }, path, "be_f4", "big-endian");
    expect_error([&] { npz.tensor<float>("c8"); }, path, "c8", "unsupported dtype '<c8'");
    expect_error([&] { npz.text("unicode"); }, path, "unicode", "unsupported dtype '<U4'");
    expect_error([&] { npz.int64s("f16"); }, path, "f16", "float16");
    expect_error([&] { npz.tensor<float>("i8"); }, path, "i8", "unsupported dtype '<i8' (expected '<f4' or '<f8')");
  }
}

BOOST_FIXTURE_TEST_CASE(compressed_writes_round_trip, TempDir) {
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"w", to_npy_bytes(iota<float>({50, 40}))}, {"step", npy_int64({7})}, {"cell", npy_text("gru")}, {"none", npy_text("")}};
  write_npz_atomic(file("plain.npz"), entries);
  write_npz_atomic(file("small.npz"), entries, NpzWriteOptions{true});
  BOOST_TEST(fs::file_size(file("small.npz")) < fs::file_size(file("plain.npz")) / 2);
  BOOST_TEST(read_npz_entries(file("small.npz")) == read_npz_entries(file("plain.npz")));
  BOOST_TEST((fs::directory_iterator(dir) != fs::directory_iterator()));
}

BOOST_FIXTURE_TEST_CASE(every_truncated_or_flipped_compressed_file_is_an_error_or_reads, TempDir) {
  const std::string bytes = read_bytes(kCompressed);
  const std::string path = file("bad.npz");
  for (std::size_t size = 0; size < bytes.size(); size += 7) {
    BOOST_TEST_CONTEXT("truncated to " << size) BOOST_TEST(contains(error_of([&] {
      npz_entries_from_bytes(bytes.substr(0, size), path);
    }), path));
  }
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] ^= 0x21;
    try {
      for (const auto& [name, npy] : npz_entries_from_bytes(flipped, path)) {
        try {
          int64_array_from_npy(npy, name);
        } catch (const CheckpointError&) {
        }
      }
    } catch (const CheckpointError& e) {
      BOOST_TEST(contains(e.what(), path), "byte " << i);
    }
  }
}

BOOST_AUTO_TEST_CASE(huge_shape_claims_fail_before_allocating) {
  std::string npy = npy_int64({1, 2});
  const std::string from = "'shape': (2,), }";
  const std::string to = "'shape': (1000000, 1000000), }";  // 10^12 elements
  npy.replace(npy.find(from), from.size(), to);
  const std::string msg = error_of([&] { int64_array_from_npy(npy, "'x.npz' entry 'ids'"); });
  BOOST_TEST(contains(msg, "'x.npz' entry 'ids'"));
  BOOST_TEST(contains(msg, "needs 1000000000000 x 8"));
  std::string overflow = npy_int64({1});
  overflow.replace(overflow.find("(1,)"), 4, "(99999999999,99999999999,99999999999)");
  BOOST_TEST(contains(error_of([&] { int64_array_from_npy(overflow, "o"); }), "overflows"));
}

BOOST_FIXTURE_TEST_CASE(zip_size_claims_beyond_the_file_are_errors, TempDir) {
  const std::string path = file("claims.npz");
  write_npz_atomic(path, {{"a", npy_int64({1, 2, 3})}}, NpzWriteOptions{true});
  const std::string good = read_bytes(path);
  const std::size_t usize_at = central_usize_at(good);

  std::string bomb = good;
  put_u64(bomb, usize_at, std::uint64_t(1) << 40);  // a TiB from a few bytes
  expect_error([&] { npz_entries_from_bytes(bomb, path); }, path, "a", "more than deflate can produce");

  std::string fewer = good;
  put_u64(fewer, usize_at, 10);
  expect_error([&] { npz_entries_from_bytes(fewer, path); }, path, "a", "inflates to more than its stated 10 bytes");

  std::string more = good;
  put_u64(more, usize_at, 1000);
  expect_error([&] { npz_entries_from_bytes(more, path); }, path, "a", "inflates to 152 bytes, not its stated 1000");

  std::string cut = good;  // the deflate stream cut short: its last byte becomes the end of file
  const std::size_t data_end = good.find(std::string("PK\x01\x02", 4));
  cut.erase(data_end - 3, 3);
  BOOST_TEST(contains(error_of([&] { npz_entries_from_bytes(cut, path); }), path));

  std::string short_input = good;
  put_u64(short_input, usize_at + 8, 5);  // compressed size: the stream is cut after 5 bytes
  expect_error([&] { npz_entries_from_bytes(short_input, path); }, path, "a", "deflate data ends early");

  std::string past_end = good;
  put_u64(past_end, usize_at + 8, 1u << 30);  // compressed size
  expect_error([&] { npz_entries_from_bytes(past_end, path); }, path, "a", "ends before byte");

  std::string method = good;
  method[good.find(std::string("PK\x01\x02", 4)) + 10] = 12;  // bzip2
  expect_error([&] { npz_entries_from_bytes(method, path); }, path, "a", "compression method 12");
}

// Bug: a directory opened as a stream reported a size of 2^63 - 1 and the reader threw
// std::length_error allocating it, not a CheckpointError.
BOOST_FIXTURE_TEST_CASE(a_directory_is_a_checkpoint_error, TempDir) {
  const std::string msg = error_of([&] { read_npz_entries(dir.string()); });
  BOOST_TEST(contains(msg, "'" + dir.string() + "': is a directory"), msg);
  BOOST_TEST(contains(error_of([&] { NpzEntries npz(file("missing.npz")); }), "cannot open"));
}

BOOST_FIXTURE_TEST_CASE(entries_sharing_bytes_are_rejected, TempDir) {
  // Two central records pointing at one local header (the second renamed to match): a zip bomb's trick.
  const std::string path = file("overlap.npz");
  write_npz_atomic(path, {{"a", npy_int64({1})}, {"b", npy_int64({2})}});
  std::string zip = read_bytes(path);
  const std::size_t first = zip.find(std::string("PK\x01\x02", 4)), second = zip.find(std::string("PK\x01\x02", 4), first + 4);
  const std::size_t name_len = static_cast<unsigned char>(zip[second + 28]);
  const std::size_t offset_at = second + 46 + name_len + 4 + 16;
  put_u64(zip, offset_at, 0);
  zip[0 + 30] = 'b';  // the local header at 0 now names "b.npy"
  zip[first + 46] = 'c';  // and the first record another name, so only the overlap is wrong
  const std::string msg = error_of([&] { npz_entries_from_bytes(zip, path); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST((contains(msg, "overlap") || contains(msg, "local header names a different file")), msg);
}

BOOST_FIXTURE_TEST_CASE(checkpoint_records_keep_their_types, TempDir) {
  const std::string path = file("ckpt.npz");
  Parameter<float> w("W", iota<float>({2, 2}));
  CheckpointRecords records;
  records.ints["run/step"] = {42, -1};
  records.doubles["run/lr"] = {0.001, -0.0};
  records.texts["run/config"] = "cell = lstm\n";
  save_checkpoint<float>(path, {&w}, {{"epoch", iota<float>({1})}}, records);

  const CheckpointRecords back = load_checkpoint_records(path);
  BOOST_TEST((back.ints == records.ints));
  BOOST_TEST(back.texts == records.texts);
  BOOST_REQUIRE(back.doubles.count("run/lr") == 1u);
  BOOST_TEST(std::memcmp(back.doubles.at("run/lr").data(), records.doubles["run/lr"].data(), 16) == 0);
  const NpzEntries npz(path);
  BOOST_TEST(npz.bytes("run/step") == npy_int64({42, -1}));
  BOOST_TEST(npz.bytes("run/lr") == npy_float64({0.001, -0.0}));
  Parameter<float> w2("W", zeros<float>({2, 2}));
  BOOST_TEST(load_checkpoint<float>(path, {&w2}).size() == 1u);  // records are not state
  BOOST_TEST(same_bits(w2.value, w.value));

  CheckpointRecords clash;
  clash.ints["run/x"] = {1};
  clash.texts["run/x"] = "1";
  BOOST_TEST(contains(error_of([&] { save_checkpoint<float>(path, {&w}, {}, clash); }), "duplicate entry 'run/x'"));
  CheckpointRecords prefixed;
  prefixed.doubles["state/lr"] = {1.0};
  BOOST_TEST(contains(error_of([&] { save_checkpoint<float>(path, {&w}, {}, prefixed); }), "must not use the param/"));
}

// When /usr/bin/python3 has numpy: it reads the typed records and a compressed file.
BOOST_FIXTURE_TEST_CASE(numpy_reads_records_and_compressed_files, TempDir) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    BOOST_TEST_MESSAGE("no python3 with numpy: skipped");
    return;
  }
  const std::string path = file("c.npz");
  write_npz_atomic(path, {{"run/step", npy_int64({42})}, {"run/lr", npy_float64({0.5})}, {"w", to_npy_bytes(iota<float>({2, 3}))}},
                   NpzWriteOptions{true});
  write_bytes(file("check.py"),
              "import numpy as np, sys\n"
              "d = np.load(sys.argv[1])\n"
              "assert d['run/step'].dtype == np.int64 and list(d['run/step']) == [42]\n"
              "assert d['run/lr'].dtype == np.float64 and list(d['run/lr']) == [0.5]\n"
              "assert (d['w'] == np.arange(6, dtype=np.float32).reshape(2, 3)).all()\n");
  BOOST_TEST(std::system(("/usr/bin/python3 " + file("check.py") + " " + path).c_str()) == 0);
}
