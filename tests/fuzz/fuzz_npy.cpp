// libFuzzer target: every .npy reader of io/npy.hpp on the same bytes. Malformed input may
// only throw CheckpointError (never crash, hang or allocate what the bytes cannot hold).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "io/npy.hpp"
#include "fuzz_support.hpp"

using namespace tapenet;

using tapenet::fuzz::reading;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(tapenet::fuzz::text_of(data, size));
  const std::string what = "'fuzz.npz' entry 'x'";
  reading<CheckpointError>([&] { npy_info(bytes, what); });
  reading<CheckpointError>([&] { from_npy_bytes<float>(bytes, what); });
  reading<CheckpointError>([&] {
    const Tensor<double> t = from_npy_bytes<double>(bytes, what);
    // What was read writes back and reads again to the same values.
    const Tensor<double> back = from_npy_bytes<double>(to_npy_bytes(t), what);
    if (back.shape() != t.shape()) std::abort();
  });
  reading<CheckpointError>([&] { text_from_npy(bytes, what); });
  reading<CheckpointError>([&] { int64_from_npy(bytes, what); });
  reading<CheckpointError>([&] {
    const Int64Array a = int64_array_from_npy(bytes, what);
    std::size_t n = 1;
    for (const std::size_t d : a.shape) n *= d;
    if (n != a.values.size()) std::abort();
  });
  reading<CheckpointError>([&] { float64_from_npy(bytes, what); });
  return 0;
}
