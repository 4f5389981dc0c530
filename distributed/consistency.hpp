/// @file
/// Start-up check that every rank runs the same job: a rank started with other options, a
/// model of other shapes or other data would train a different model in lockstep, silently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/parameter.hpp"
#include "distributed/world.hpp"

namespace tapenet::distributed {

/// One thing every rank must agree on, as text: "run configuration" -> its options one per
/// line, "parameter shapes", "training data" -> a fingerprint.
struct Agreement {
  std::string what;
  std::string text;
};

/// Compares every rank's texts with rank 0's; on any difference every rank throws
/// DistributedError naming the rank, the item and the first differing line of both, e.g.
/// @code{.unparsed}
///   rank 1 was started with a different run configuration than rank 0:
///   rank 0 has "dim 25", rank 1 has "dim 30"
/// @endcode
void check_agreement(const World& world, const std::vector<Agreement>& items);

/// "name [d0,d1]" per line, in order.
template <class T>
std::string parameter_shapes(const ParameterList<T>& params);

/// 64-bit FNV-1a of bytes, chainable through `seed`: a data fingerprint.
std::uint64_t fingerprint(const void* data, std::size_t bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);
std::string hex(std::uint64_t value);

}  // namespace tapenet::distributed
