// Entity F1 of examples/tagger/conlleval.hpp against conlleval.pl's rules on hand-made cases.
#define BOOST_TEST_MODULE conlleval
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "../examples/tagger/conlleval.hpp"

using tagger::Chunk;
using tagger::ChunkCounts;
using tagger::chunks;
using Tags = std::vector<std::string>;

namespace {

std::vector<Chunk> of(const Tags& tags) { return chunks(tags); }

}  // namespace

BOOST_AUTO_TEST_CASE(chunk_boundaries_and_types) {
  const auto c = of({"B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"});
  BOOST_REQUIRE_EQUAL(c.size(), 4u);
  BOOST_TEST((c[0] == Chunk{0, 2, "PER"}));
  BOOST_TEST((c[1] == Chunk{3, 4, "LOC"}));  // B- after B- of the same type: a new chunk
  BOOST_TEST((c[2] == Chunk{4, 6, "LOC"}));
  BOOST_TEST((c[3] == Chunk{7, 8, "ORG"}));  // a chunk at the end of the sentence
}

BOOST_AUTO_TEST_CASE(i_without_b_starts_a_chunk) {
  // conlleval: I-X after O, at the start, or after another type opens a chunk (IOB1).
  const auto c = of({"I-PER", "I-PER", "O", "I-LOC", "B-PER", "I-LOC"});
  BOOST_REQUIRE_EQUAL(c.size(), 4u);
  BOOST_TEST((c[0] == Chunk{0, 2, "PER"}));
  BOOST_TEST((c[1] == Chunk{3, 4, "LOC"}));
  BOOST_TEST((c[2] == Chunk{4, 5, "PER"}));
  BOOST_TEST((c[3] == Chunk{5, 6, "LOC"}));  // I-LOC after B-PER: a type change
}

BOOST_AUTO_TEST_CASE(iobes_tags) {
  const auto c = of({"S-PER", "B-LOC", "E-LOC", "S-LOC", "O"});
  BOOST_REQUIRE_EQUAL(c.size(), 3u);
  BOOST_TEST((c[0] == Chunk{0, 1, "PER"}));
  BOOST_TEST((c[1] == Chunk{1, 3, "LOC"}));
  BOOST_TEST((c[2] == Chunk{3, 4, "LOC"}));
}

BOOST_AUTO_TEST_CASE(exact_match_of_boundaries_and_type) {
  ChunkCounts counts;
  // gold: PER[0,2) LOC[3,4) ORG[5,6); predicted: PER[0,1) (boundary wrong), LOC[3,4)
  // (right), MISC[5,6) (type wrong), PER[6,7) (spurious).
  counts.add({"B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O"},
             {"B-PER", "O", "O", "B-LOC", "O", "B-MISC", "B-PER"});
  BOOST_TEST(counts.gold == 3u);
  BOOST_TEST(counts.predicted == 4u);
  BOOST_TEST(counts.correct == 1u);
  BOOST_TEST(counts.precision() == 25.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(counts.recall() == 100.0 / 3, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(counts.f1() == 2 * 25.0 * (100.0 / 3) / (25.0 + 100.0 / 3), boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(i_without_b_matches_a_b_chunk) {
  // A prediction that opens with I- still matches a gold B- chunk of the same extent.
  ChunkCounts counts;
  counts.add({"O", "B-PER", "I-PER", "O"}, {"O", "I-PER", "I-PER", "O"});
  BOOST_TEST(counts.correct == 1u);
  BOOST_TEST(counts.f1() == 100.0, boost::test_tools::tolerance(1e-9));
  // But a chunk that runs on is wrong.
  ChunkCounts longer;
  longer.add({"O", "B-PER", "I-PER", "O"}, {"O", "I-PER", "I-PER", "I-PER"});
  BOOST_TEST(longer.correct == 0u);
  BOOST_TEST(longer.f1() == 0.0);
}

BOOST_AUTO_TEST_CASE(sums_over_sentences_and_empty_cases) {
  ChunkCounts counts;
  BOOST_TEST(counts.f1() == 0.0);  // nothing gold, nothing predicted
  counts.add({"B-LOC"}, {"B-LOC"});
  counts.add({"O", "O"}, {"O", "B-LOC"});
  BOOST_TEST(counts.correct == 1u);
  BOOST_TEST(counts.predicted == 2u);
  BOOST_TEST(counts.gold == 1u);
  BOOST_TEST(counts.f1() == 2 * 50.0 * 100.0 / 150.0, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(tag_sets) {
  BOOST_TEST(tagger::is_chunk_tagset({"B-PER", "I-PER", "O"}));
  BOOST_TEST(!tagger::is_chunk_tagset({"NOUN", "VERB", "ADP"}));
  BOOST_TEST(!tagger::is_chunk_tagset({"O"}));
}
