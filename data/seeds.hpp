/// @file
/// Derived seeds: a generator seed that is a pure function of (seed, a, b), e.g. of the
/// run's seed, the epoch and a position in it. Drawing each epoch's shuffle and each
/// example's masks from its own derived seed makes them independent of the order the
/// examples are processed in (threads) and lets a resumed run replay them exactly.
#pragma once

#include <cstdint>

namespace tapenet::data {

/// A splitmix64-style mix of the three words (Steele et al. 2014's finaliser): nearby
/// inputs give unrelated outputs. The values are part of every run's reproducibility:
/// changing them changes every shuffle, mask and replacement drawn from them.
constexpr std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (a + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^
                    (b + 0x1234567ull) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  return x ^ (x >> 32);
}

}  // namespace tapenet::data
