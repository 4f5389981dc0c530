#define BOOST_TEST_MODULE npz
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <set>

#include "io/npz.hpp"
#include "optim/checkpoint.hpp"

using namespace tapenet;
namespace fs = std::filesystem;

namespace {

// The fixtures were written by numpy 1.24 (np.savez / np.savez_compressed); the values
// are rebuilt below with the same IEEE operations:
//   w32 = np.arange(6, dtype=np.float32).reshape(2, 3) / np.float32(3)
//   v64 = np.arange(5, dtype=np.float64) / 7.0 - 1.0
//   cube = np.arange(8, dtype=np.float32).reshape(2, 2, 2) * np.float32(0.5)
//   special = np.array([0.0, -0.0, inf, -inf, nan, 1e-45, 3.4028235e38], dtype=np.float32)
//   np.savez("numpy_savez.npz", w32=w32, v64=v64, scalar=np.float64(1.0) / 3.0,
//            empty=np.zeros((0, 3), dtype=np.float32), special=special, **{"param/W": cube})
//   np.savez_compressed("numpy_savez_compressed.npz", w32=w32)
//   np.savez("numpy_typed.npz", step=np.array([42, -7, 2**62], dtype=np.int64), count=np.int64(3),
//            cell=np.frombuffer("lstm → gru".encode(), dtype=np.uint8), empty_text=np.zeros(0, dtype=np.uint8),
//            int32=np.array([1, 2], dtype=np.int32), **{"config/w": np.arange(3, dtype=np.float32)})
const fs::path kDataDir = fs::path(__FILE__).parent_path() / "data";

Tensor<float> numpy_w32() {
  Tensor<float> t = zeros<float>({2, 3});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i) / 3.0f;
  return t;
}

Tensor<double> numpy_v64() {
  Tensor<double> t = zeros<double>({5});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<double>(i) / 7.0 - 1.0;
  return t;
}

// Random values plus the ones a lossy writer would break: signed zero, inf, NaN, subnormal.
template <class T>
Tensor<T> test_tensor(const Shape& shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<T> normal;
  const T specials[] = {T(0), -T(0), std::numeric_limits<T>::infinity(), std::numeric_limits<T>::quiet_NaN(),
                        std::numeric_limits<T>::denorm_min(), std::numeric_limits<T>::max()};
  Tensor<T> t(shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = i < 6 && t.size() > 6 ? specials[i] : normal(rng);
  return t;
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The message of the CheckpointError that f throws.
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
    std::string pattern = (fs::temp_directory_path() / "tapenet-npz-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  // A fresh file per fuzzed variant: rewriting one file is slow on ext4 (flush on truncate).
  std::string variant_file(const std::string& bytes, std::size_t i) const {
    const std::string path = file("variant" + std::to_string(i) + ".npz");
    write_bytes(path, bytes);
    return path;
  }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
  }
};

// Makes writes beyond `bytes` fail with EFBIG (instead of SIGXFSZ) while alive: a save
// that dies half-way, as on a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

const std::vector<Shape> kShapes = {{}, {1}, {7}, {2, 3, 4}, {0}, {2, 0, 3}, {1, 1, 1, 1, 5}};

}  // namespace

BOOST_AUTO_TEST_CASE(crc32_matches_the_zip_check_value) {
  BOOST_TEST(crc32("123456789", 9) == 0xCBF43926u);
  BOOST_TEST(crc32("", 0) == 0u);
  // Incremental use gives the same result as one call.
  BOOST_TEST(crc32("56789", 5, crc32("1234", 4)) == 0xCBF43926u);
}

BOOST_AUTO_TEST_CASE(npy_round_trip_is_bit_exact) {
  unsigned seed = 1;
  for (const Shape& shape : kShapes) {
    const Tensor<float> f = test_tensor<float>(shape, ++seed);
    const Tensor<double> d = test_tensor<double>(shape, ++seed);
    BOOST_TEST(same_bits(from_npy_bytes<float>(to_npy_bytes(f), "f"), f), shape_str(shape));
    BOOST_TEST(same_bits(from_npy_bytes<double>(to_npy_bytes(d), "d"), d), shape_str(shape));
  }
}

BOOST_AUTO_TEST_CASE(npy_header_is_numpy_layout) {
  const std::string bytes = to_npy_bytes(numpy_w32());
  BOOST_TEST(contains(bytes, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  BOOST_TEST(contains(to_npy_bytes(Tensor<double>(Shape{5})), "'shape': (5,), }"));
  BOOST_TEST(contains(to_npy_bytes(Tensor<double>(Shape{})), "'shape': (), }"));
  BOOST_TEST((bytes.size() - 6 * sizeof(float)) % 64 == 0u);  // data is 64-byte aligned
  // Byte for byte what numpy 1.24 wrote for the same array.
  BOOST_TEST(bytes == read_npz_entries((kDataDir / "numpy_savez.npz").string()).at("w32"));
}

BOOST_AUTO_TEST_CASE(npy_converts_between_float_widths) {
  const Tensor<float> f = numpy_w32();
  const Tensor<double> as_double = from_npy_bytes<double>(to_npy_bytes(f), "f");
  const Tensor<float> back = from_npy_bytes<float>(to_npy_bytes(as_double), "d");
  BOOST_TEST(same_bits(back, f));
  BOOST_TEST(as_double(1, 2) == static_cast<double>(f(1, 2)));
}

BOOST_AUTO_TEST_CASE(npy_rejects_what_it_cannot_read) {
  const std::string good = to_npy_bytes(numpy_w32());
  auto patched = [&](const std::string& from, const std::string& to) {
    std::string b = good;
    return b.replace(b.find(from), from.size(), to);
  };
  const std::string what = "'x.npz' entry 'w'";
  auto load = [&](const std::string& bytes) { return error_of([&] { from_npy_bytes<float>(bytes, what); }); };

  BOOST_TEST(contains(load(patched("<f4", "<f2")), "float16 is not supported"));
  BOOST_TEST(contains(load(patched("<f4", "<i4")), "unsupported dtype '<i4'"));
  BOOST_TEST(contains(load(patched("<f4", ">f4")), "unsupported dtype '>f4'"));
  BOOST_TEST(contains(load(patched("NUMPY", "NUMPI")), "bad magic"));
  BOOST_TEST(contains(load(patched("(2, 3)", "(2, 4)")), "truncated"));
  BOOST_TEST(contains(load(good.substr(0, good.size() - 1)), "has 23 data bytes"));
  BOOST_TEST(contains(load(good + "x"), "has 25 data bytes"));
  BOOST_TEST(contains(load(good.substr(0, 20)), "truncated"));
  BOOST_TEST(contains(load(""), what));
  BOOST_TEST(contains(load(patched("'shape'", "'shope'")), "no 'shape'"));
}

BOOST_FIXTURE_TEST_CASE(npz_round_trip_is_bit_exact, TempDir) {
  std::map<std::string, Tensor<float>> floats;
  std::map<std::string, Tensor<double>> doubles;
  unsigned seed = 100;
  for (const Shape& shape : kShapes) {
    floats["f" + shape_str(shape)] = test_tensor<float>(shape, ++seed);
    doubles["layer/d" + shape_str(shape)] = test_tensor<double>(shape, ++seed);
  }
  floats[""] = test_tensor<float>({3}, ++seed);  // numpy allows an empty key too

  save_npz(file("f.npz"), floats);
  save_npz(file("d.npz"), doubles);
  const auto floats_back = load_npz<float>(file("f.npz"));
  const auto doubles_back = load_npz<double>(file("d.npz"));

  BOOST_TEST(floats_back.size() == floats.size());
  for (const auto& [name, t] : floats) BOOST_TEST(same_bits(floats_back.at(name), t), name);
  BOOST_TEST(doubles_back.size() == doubles.size());
  for (const auto& [name, t] : doubles) BOOST_TEST(same_bits(doubles_back.at(name), t), name);
  BOOST_TEST((listing() == std::set<std::string>{"f.npz", "d.npz"}));  // no temp files left

  save_npz(file("none.npz"), std::map<std::string, Tensor<float>>{});
  BOOST_TEST(load_npz<float>(file("none.npz")).empty());
}

BOOST_AUTO_TEST_CASE(reads_numpy_savez) {
  const std::string path = (kDataDir / "numpy_savez.npz").string();
  const auto f = load_npz<float>(path);
  BOOST_TEST(same_bits(f.at("w32"), numpy_w32()));

  Tensor<float> cube = zeros<float>({2, 2, 2});
  for (std::size_t i = 0; i < cube.size(); ++i) cube.data()[i] = static_cast<float>(i) * 0.5f;
  BOOST_TEST(same_bits(f.at("param/W"), cube));
  BOOST_TEST((to_shape(f.at("empty").shape()) == Shape{0, 3}));

  const Tensor<float>& special = f.at("special");
  BOOST_TEST(special(0) == 0.0f);
  BOOST_TEST(!std::signbit(special(0)));
  BOOST_TEST(std::signbit(special(1)));
  BOOST_TEST(special(2) == std::numeric_limits<float>::infinity());
  BOOST_TEST(special(3) == -std::numeric_limits<float>::infinity());
  BOOST_TEST(std::isnan(special(4)));
  BOOST_TEST(special(5) == std::numeric_limits<float>::denorm_min());
  BOOST_TEST(special(6) == std::numeric_limits<float>::max());

  const auto d = load_npz<double>(path);
  BOOST_TEST(same_bits(d.at("v64"), numpy_v64()));
  BOOST_TEST(d.at("scalar").dimension() == 0u);
  BOOST_TEST(d.at("scalar")() == 1.0 / 3.0);
  BOOST_TEST(f.at("scalar")() == static_cast<float>(1.0 / 3.0));  // '<f8' converted into float
}

BOOST_AUTO_TEST_CASE(reads_numpy_savez_compressed) {
  const std::string path = (kDataDir / "numpy_savez_compressed.npz").string();
  BOOST_TEST(same_bits(load_npz<float>(path).at("w32"), numpy_w32()));
}

BOOST_FIXTURE_TEST_CASE(detects_every_truncation, TempDir) {
  const std::string path = file("t.npz");
  save_npz<float>(path, {{"a", numpy_w32()}, {"b", test_tensor<float>({4, 5}, 7)}});
  const std::string bytes = read_bytes(path);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const std::string cut = variant_file(bytes.substr(0, size), size);
    BOOST_TEST_CONTEXT("truncated to " << size) BOOST_TEST(contains(error_of([&] { read_npz_entries(cut); }), cut));
    fs::remove(cut);
  }
  const std::string missing = file("missing.npz");
  BOOST_TEST(contains(error_of([&] { read_npz_entries(missing); }), missing));
}

BOOST_FIXTURE_TEST_CASE(detects_corrupted_data_by_crc, TempDir) {
  const std::string path = file("c.npz");
  save_npz<double>(path, {{"weights", numpy_v64()}});
  std::string bytes = read_bytes(path);
  const std::size_t last_value = bytes.find(to_npy_bytes(numpy_v64())) + to_npy_bytes(numpy_v64()).size() - 1;
  bytes[last_value] ^= 0x01;
  write_bytes(path, bytes);
  const std::string msg = error_of([&] { load_npz<double>(path); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "'weights'"));
  BOOST_TEST(contains(msg, "CRC-32 mismatch"));
}

// Whatever byte is flipped, reading either succeeds or throws CheckpointError: no crash,
// no out-of-bounds read (run under -DTAPENET_SANITIZE=ON), no other exception.
BOOST_FIXTURE_TEST_CASE(survives_any_flipped_byte, TempDir) {
  const std::string path = file("flip.npz");
  save_npz<float>(path, {{"a", numpy_w32()}, {"b", test_tensor<float>({3}, 9)}});
  const std::string bytes = read_bytes(path);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] ^= 0x5A;
    const std::string variant = variant_file(flipped, i);
    try {
      load_npz<float>(variant);
    } catch (const CheckpointError& e) {
      BOOST_TEST(contains(e.what(), variant), "byte " << i);
    }
    fs::remove(variant);
  }
}

BOOST_FIXTURE_TEST_CASE(checkpoint_round_trip, TempDir) {
  const std::string path = file("model.npz");
  Parameter<float> w("W", test_tensor<float>({3, 4}, 1)), b("b", test_tensor<float>({4}, 2));
  const std::map<std::string, Tensor<float>> state = {{"adam/m/W", test_tensor<float>({3, 4}, 3)},
                                                      {"epoch", full<float>({1}, 7.0f)}};
  save_checkpoint<float>(path, {&w, &b}, state);

  const auto entries = read_npz_entries(path);
  BOOST_TEST(entries.count("param/W") == 1u);  // what numpy.load(path)["param/W"] reads
  BOOST_TEST(entries.count("state/epoch") == 1u);

  Parameter<float> w2("W", zeros<float>({3, 4})), b2("b", zeros<float>({4}));
  const auto loaded_state = load_checkpoint<float>(path, {&b2, &w2});  // order does not matter
  BOOST_TEST(same_bits(w2.value, w.value));
  BOOST_TEST(same_bits(b2.value, b.value));
  BOOST_TEST(loaded_state.size() == 2u);
  BOOST_TEST(same_bits(loaded_state.at("adam/m/W"), state.at("adam/m/W")));
  BOOST_TEST(loaded_state.at("epoch")(0) == 7.0f);
}

BOOST_FIXTURE_TEST_CASE(wrong_shape_leaves_model_unchanged, TempDir) {
  const std::string path = file("model.npz");
  Parameter<double> b("b", full<double>({4}, 1.0)), w("W", full<double>({3, 4}, 1.0));
  save_checkpoint<double>(path, {&b, &w});

  Parameter<double> b2("b", full<double>({4}, 5.0)), w2("W", full<double>({4, 3}, 5.0));
  const std::string msg = error_of([&] { load_checkpoint<double>(path, {&b2, &w2}); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "'W'"));
  BOOST_TEST(contains(msg, "[3,4]"));
  BOOST_TEST(contains(msg, "[4,3]"));
  BOOST_TEST(same_bits(b2.value, full<double>({4}, 5.0)));  // validated fine, still not loaded
  BOOST_TEST(same_bits(w2.value, full<double>({4, 3}, 5.0)));
}

BOOST_FIXTURE_TEST_CASE(missing_or_unknown_parameter_is_an_error, TempDir) {
  const std::string path = file("model.npz");
  Parameter<float> w("W", full<float>({2}, 1.0f));
  save_checkpoint<float>(path, {&w});

  Parameter<float> w2("W", full<float>({2}, 3.0f)), extra("extra", full<float>({2}, 3.0f));
  const std::string missing = error_of([&] { load_checkpoint<float>(path, {&w2, &extra}); });
  BOOST_TEST(contains(missing, path));
  BOOST_TEST(contains(missing, "'extra' is missing"));
  BOOST_TEST(same_bits(w2.value, full<float>({2}, 3.0f)));

  const std::string unknown = error_of([&] { load_checkpoint<float>(path, ParameterList<float>{}); });
  BOOST_TEST(contains(unknown, "'W' that the model does not have"));
}

BOOST_FIXTURE_TEST_CASE(parameter_names_must_be_unique, TempDir) {
  const std::string path = file("model.npz");
  Parameter<float> a("W", zeros<float>({2})), b("W", zeros<float>({3}));
  const std::string msg = error_of([&] { save_checkpoint<float>(path, {&a, &b}); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "'W' is used twice"));
  BOOST_TEST(listing().empty());
}

BOOST_FIXTURE_TEST_CASE(failed_save_keeps_previous_checkpoint, TempDir) {
  const std::string path = file("model.npz");
  Parameter<float> small("W", full<float>({4}, 1.0f));
  save_checkpoint<float>(path, {&small});
  const std::string before = read_bytes(path);

  Parameter<float> big("W", full<float>({64 * 1024}, 2.0f));  // 256 KiB, over the limit
  std::string msg;
  {
    const FileSizeLimit limit(16 * 1024);
    msg = error_of([&] { save_checkpoint<float>(path, {&big}); });
  }
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "write failed"));
  BOOST_TEST(read_bytes(path) == before);
  BOOST_TEST((listing() == std::set<std::string>{"model.npz"}));
  BOOST_TEST(same_bits(load_npz<float>(path).at("param/W"), small.value));
}

BOOST_FIXTURE_TEST_CASE(failed_rename_removes_temp_file, TempDir) {
  const std::string path = file("taken");
  fs::create_directory(path);  // rename(temp, path) fails: path is a directory
  const std::string msg = error_of([&] { save_npz<float>(path, {{"a", numpy_w32()}}); });
  BOOST_TEST(contains(msg, path));
  BOOST_TEST(contains(msg, "rename"));
  BOOST_TEST((listing() == std::set<std::string>{"taken"}));
}

// ---------------------------------------------------------------- typed entries

const std::string kUtf8Cell = "lstm \xE2\x86\x92 gru";  // "lstm → gru"

BOOST_AUTO_TEST_CASE(text_and_int64_round_trip_through_npy) {
  for (const std::string& text : {std::string(), std::string("lstm"), kUtf8Cell, std::string("a\0b", 3)})
    BOOST_TEST(text_from_npy(npy_text(text), "t") == text);
  const std::vector<std::int64_t> ints = {0, -1, 42, std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max()};
  BOOST_TEST(int64_from_npy(npy_int64(ints), "i") == ints);
  BOOST_TEST(int64_from_npy(npy_int64({}), "i").empty());
  BOOST_TEST(contains(npy_text("ab"), "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }"));
  BOOST_TEST(contains(npy_int64({1}), "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }"));
}

BOOST_AUTO_TEST_CASE(reads_numpy_typed_entries) {
  const std::string path = (kDataDir / "numpy_typed.npz").string();
  const NpzEntries npz(path);
  BOOST_TEST((npz.int64s("step") == std::vector<std::int64_t>{42, -7, std::int64_t(1) << 62}));
  BOOST_TEST((npz.int64s("count") == std::vector<std::int64_t>{3}));  // a 0-D scalar
  BOOST_TEST(npz.text("cell") == kUtf8Cell);
  BOOST_TEST(npz.text("empty_text").empty());
  BOOST_TEST(same_bits(npz.tensor<float>("config/w"), from_npy_bytes<float>(to_npy_bytes(Tensor<float>({0.f, 1.f, 2.f})), "")));
  // Byte for byte what numpy wrote for the same arrays.
  BOOST_TEST(npz.bytes("cell") == npy_text(kUtf8Cell));
  BOOST_TEST(npz.bytes("step") == npy_int64({42, -7, std::int64_t(1) << 62}));
}

BOOST_FIXTURE_TEST_CASE(mixed_entries_round_trip_through_one_npz, TempDir) {
  const std::string path = file("run.npz");
  const Tensor<float> w = test_tensor<float>({3, 4}, 5);
  const Tensor<double> v = test_tensor<double>({7}, 6);
  write_npz_atomic(path, {{"param/W", to_npy_bytes(w)},
                          {"param/v", to_npy_bytes(v)},
                          {"config/hidden", npy_int64({128})},
                          {"config/layers", npy_int64({2, 3})},
                          {"config/cell", npy_text(kUtf8Cell)},
                          {"config/empty", npy_text("")}});
  BOOST_TEST((listing() == std::set<std::string>{"run.npz"}));  // no temp files left
  const NpzEntries npz(path);
  BOOST_TEST(npz.all().size() == 6u);
  BOOST_TEST(npz.has("config/cell"));
  BOOST_TEST(!npz.has("config/missing"));
  BOOST_TEST(same_bits(npz.tensor<float>("param/W"), w));
  BOOST_TEST(same_bits(npz.tensor<double>("param/v"), v));
  BOOST_TEST((npz.int64s("config/hidden") == std::vector<std::int64_t>{128}));
  BOOST_TEST((npz.int64s("config/layers") == std::vector<std::int64_t>{2, 3}));
  BOOST_TEST(npz.text("config/cell") == kUtf8Cell);
  BOOST_TEST(npz.text("config/empty").empty());
}

BOOST_AUTO_TEST_CASE(typed_entry_of_another_type_names_file_and_entry) {
  const std::string path = (kDataDir / "numpy_typed.npz").string();
  const NpzEntries npz(path);
  const auto expect = [&](const std::function<void()>& read, const std::string& entry, const std::string& part) {
    const std::string msg = error_of(read);
    BOOST_TEST(contains(msg, "'" + path + "' entry '" + entry + "'"), msg);
    BOOST_TEST(contains(msg, part), msg);
  };
  expect([&] { npz.text("step"); }, "step", "unsupported dtype '<i8' (expected text");
  expect([&] { npz.text("config/w"); }, "config/w", "unsupported dtype '<f4'");
  expect([&] { npz.int64s("config/w"); }, "config/w", "unsupported dtype '<f4' (expected int64");
  BOOST_TEST((npz.int64s("int32") == std::vector<std::int64_t>{1, 2}));  // any integer dtype, widened
  expect([&] { npz.tensor<float>("step"); }, "step", "unsupported dtype '<i8' (expected '<f4' or '<f8')");
  expect([&] { npz.tensor<double>("cell"); }, "cell", "unsupported dtype '|u1'");
  expect([&] { npz.text("nope"); }, "nope", "is missing");
  expect([&] { npz.int64s("nope"); }, "nope", "is missing");
  expect([&] { npz.tensor<float>("nope"); }, "nope", "is missing");
}

BOOST_AUTO_TEST_CASE(malformed_typed_entries_are_rejected) {
  const std::string what = "'x.npz' entry 'e'";
  const auto text_error = [&](const std::string& bytes) { return error_of([&] { text_from_npy(bytes, what); }); };
  const auto int_error = [&](const std::string& bytes) { return error_of([&] { int64_from_npy(bytes, what); }); };
  const std::string text = npy_text("hello"), ints = npy_int64({1, 2, 3});
  auto patched = [](std::string b, const std::string& from, const std::string& to) {
    return b.replace(b.find(from), from.size(), to);
  };
  BOOST_TEST(contains(text_error(text.substr(0, text.size() - 1)), "has 4 data bytes"));
  BOOST_TEST(contains(text_error(text + "!"), "has 6 data bytes"));
  BOOST_TEST(contains(text_error(patched(text, "(5,), }", "(5,1),}")), "has shape [5,1]"));
  BOOST_TEST(contains(text_error(patched(npy_text("h"), "(1,)", "(), ")), "has shape []"));
  BOOST_TEST(text_from_npy(patched(text, "False", "True "), what) == "hello");  // 1-D: either order
  BOOST_TEST(contains(int_error(ints.substr(0, ints.size() - 3)), "has 21 data bytes"));
  BOOST_TEST(contains(int_error(patched(ints, "(3,), }", "(1,3),}")), "has shape [1,3]"));
  BOOST_TEST(contains(int_error(patched(ints, "<i8", ">i8")), "unsupported dtype '>i8'"));
  BOOST_TEST(contains(int_error(""), what));
  BOOST_TEST(contains(text_error("\x93NUMPY"), "truncated"));
}

// When this machine's python3 has numpy: numpy reads what tapenet wrote, and tapenet reads
// what numpy wrote from it (the fixture above covers the numpy -> tapenet half everywhere).
BOOST_FIXTURE_TEST_CASE(numpy_reads_typed_entries, TempDir) {
  std::string python;
  for (const std::string candidate : {"python3", "/usr/bin/python3"})
    if (python.empty() && std::system((candidate + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) python = candidate;
  if (python.empty()) {
    BOOST_TEST_MESSAGE("no python3 with numpy: numpy round trip skipped");
    return;
  }
  const std::string ours = file("ours.npz"), theirs = file("theirs.npz");
  write_npz_atomic(ours, {{"cell", npy_text(kUtf8Cell)}, {"step", npy_int64({42, -7})}, {"w", to_npy_bytes(numpy_w32())}});
  const std::string script =
      "import numpy as np, sys\n"
      "d = np.load(sys.argv[1])\n"
      "assert bytes(d['cell']).decode() == 'lstm \\u2192 gru', bytes(d['cell'])\n"
      "assert d['step'].dtype == np.int64 and list(d['step']) == [42, -7], d['step']\n"
      "assert d['w'].dtype == np.float32 and d['w'].shape == (2, 3)\n"
      "np.savez(sys.argv[2], cell=d['cell'], step=d['step'] * 2, w=d['w'])\n";
  write_bytes(file("check.py"), script);
  BOOST_REQUIRE(std::system((python + " " + file("check.py") + " " + ours + " " + theirs).c_str()) == 0);
  const NpzEntries npz(theirs);
  BOOST_TEST(npz.text("cell") == kUtf8Cell);
  BOOST_TEST((npz.int64s("step") == std::vector<std::int64_t>{84, -14}));
  BOOST_TEST(same_bits(npz.tensor<float>("w"), numpy_w32()));
}
