// data::WordReplacement, data::mix_seed and init::identity_blocks: the helpers that keep a
// training run reproducible and resumable.
#define BOOST_TEST_MODULE word_replacement
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "data/seeds.hpp"
#include "data/vocab.hpp"
#include "data/word_replacement.hpp"
#include "layers/init.hpp"

using namespace tapenet;
using data::WordReplacement;

// ---- mix_seed -----------------------------------------------------------------------------

// The values are pinned: every shuffle, mask and replacement of a run is drawn from them,
// so a change here changes every run (and breaks resuming an older checkpoint the same way).
BOOST_AUTO_TEST_CASE(mix_seed_is_pinned_and_spreads_nearby_inputs) {
  static_assert(data::mix_seed(1, 0) == data::mix_seed(1, 0, 0), "the third word defaults to 0");
  BOOST_TEST(data::mix_seed(1, 0) == 0xB19CD93FF215A82Aull);
  BOOST_TEST(data::mix_seed(3, 2, 7) == 0x030612BF0329ECB3ull);
  std::set<std::uint64_t> seen;
  for (std::uint64_t a = 0; a < 16; ++a)
    for (std::uint64_t b = 0; b < 16; ++b) seen.insert(data::mix_seed(1, a, b));
  BOOST_TEST(seen.size() == 256u);
  BOOST_TEST(data::mix_seed(1, 1, 0) != data::mix_seed(1, 0, 1));  // the words are not interchangeable
}

// ---- WordReplacement -------------------------------------------------------------------------

namespace {

// Index 1 is seen once, 2 three times; 3 never.
WordReplacement make(double unk_replace, double word_dropout, std::uint64_t seed = 5) {
  std::vector<std::size_t> counts(4, 0);
  WordReplacement::add_counts(counts, {1, 2, 2});
  WordReplacement::add_counts(counts, {2});
  BOOST_REQUIRE(counts == std::vector<std::size_t>({0, 1, 3, 0}));
  return WordReplacement(counts, unk_replace, word_dropout, seed);
}

}  // namespace

BOOST_AUTO_TEST_CASE(unk_replace_hits_only_words_seen_once) {
  const WordReplacement all_singletons = make(1.0, 0.0);
  const std::vector<std::int64_t> ids = {1, 2, 1, 3, 2};
  const std::vector<std::int64_t> expected = {0, 2, 0, 3, 2};
  BOOST_TEST(all_singletons(ids, 0, 0) == expected, boost::test_tools::per_element());
  const WordReplacement off = make(0.0, 0.0);
  BOOST_TEST(!off.active());
  BOOST_TEST(off(ids, 3, 9) == ids, boost::test_tools::per_element());
}

// The draws are a function of (seed, epoch, position): the same call repeats, another
// epoch or position or seed draws anew; the rate is the asked probability.
BOOST_AUTO_TEST_CASE(word_dropout_is_reproducible_and_has_its_rate) {
  const WordReplacement dropout = make(0.0, 0.3);
  const std::vector<std::int64_t> ids(2000, 2);
  const auto first = dropout(ids, 4, 17);
  BOOST_TEST(dropout(ids, 4, 17) == first, boost::test_tools::per_element());
  BOOST_TEST((dropout(ids, 5, 17) != first));
  BOOST_TEST((dropout(ids, 4, 18) != first));
  BOOST_TEST((make(0.0, 0.3, 6)(ids, 4, 17) != first));
  std::size_t replaced = 0;
  for (std::int64_t id : first) replaced += id == data::Vocab::kUnkIndex;
  BOOST_TEST(double(replaced) / double(ids.size()) == 0.3, boost::test_tools::tolerance(0.1));
  // A singleton under both: 1 - (1 - 0.5)(1 - 0.3) = 0.65.
  const std::vector<std::int64_t> singles(2000, 1);
  replaced = 0;
  for (std::int64_t id : make(0.5, 0.3)(singles, 0, 0)) replaced += id == data::Vocab::kUnkIndex;
  BOOST_TEST(double(replaced) / double(singles.size()) == 0.65, boost::test_tools::tolerance(0.1));
}

BOOST_AUTO_TEST_CASE(word_replacement_rejects_bad_input) {
  BOOST_CHECK_THROW(make(1.5, 0.0), std::invalid_argument);
  BOOST_CHECK_THROW(make(0.0, 1.0), std::invalid_argument);
  BOOST_CHECK_THROW(make(-0.1, 0.0), std::invalid_argument);
  BOOST_CHECK_THROW(make(0.5, 0.0)({4}, 0, 0), std::out_of_range);
  std::vector<std::size_t> counts(2, 0);
  BOOST_CHECK_THROW(WordReplacement::add_counts(counts, {-1}), std::out_of_range);
}

// ---- identity_blocks ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(identity_blocks_are_identities_plus_small_noise) {
  const std::size_t d = 9;
  std::mt19937_64 rng(3);
  const Tensor<float> w = init::identity_blocks<float>(d, 2, rng);
  BOOST_TEST(to_shape(w.shape()) == Shape({d, 2 * d}));
  const float r = 1.0f / (2.0f * std::sqrt(float(d)));
  float noise_max = 0;
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < 2 * d; ++j) {
      const float noise = w(i, j) - (j % d == i ? 1.0f : 0.0f);
      BOOST_TEST(std::abs(noise) <= r);
      noise_max = std::max(noise_max, std::abs(noise));
    }
  BOOST_TEST(noise_max > 0.8f * r);  // the whole range is used
  // Row by row from the generator: the first entry is U(±r)'s first draw, plus 1.
  std::mt19937_64 again(3);
  std::uniform_real_distribution<float> u(-r, r);
  BOOST_TEST(w(0, 0) == u(again) + 1.0f);
  BOOST_TEST(w(0, 1) == u(again));
  BOOST_CHECK_THROW(init::identity_blocks<float>(0, 2, rng), std::invalid_argument);
}
