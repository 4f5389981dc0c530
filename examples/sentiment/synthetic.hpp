// A built-in synthetic sentiment treebank, so the example runs without downloading SST.
//
// Sentences are movie-review clauses with labelled binary trees in SST's format (every
// node labelled 0-4). Each phrase has a score s in -2..2 and label s + 2:
//
//   adjective        good +1, great +2, bad -1, awful -2, long 0, ...
//   very ADJ         intensifier: sign(s)·2           "very good" +2, "very bad" -2
//   somewhat ADJ     hedge: sign(s)·1                 "somewhat great" +1
//   not ADJP         negation: -sign(s)·1             "not good" -1, "not bad" +1, "not very good" -1
//   is ADJP          the predicate's score            "is not good" -1
//   the NOUN         0 (neutral)
//   NP VP            the clause's score = VP's        "the plot is not good" -1
//   C1 but C2        contrast: C2 decides             "the plot is bad but the music is good" +1
//   C1 and C2        both count: clamp(s1 + s2, ±2)    "the plot is good and the music is great" +2
//   X .              X's score
//
// Trees: ((NP (the plot)) (VP (is (not good)))), with a clause pair as
// ((C1 (but C2)) .), and a sentence ends with ".". The three splits hold distinct
// sentences (no sentence of dev or test occurs in train).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapenet/data/tree.hpp>

namespace sentiment {

struct SyntheticTreebank {
  std::vector<tapenet::data::Tree> train, dev, test;
};

SyntheticTreebank make_synthetic_treebank(std::size_t train, std::size_t dev, std::size_t test, std::uint64_t seed);

// A few hand-written probes (bracketed, gold-labelled by the same rules) for the demo:
// negation and contrast in sentences the generator may or may not have produced.
std::vector<tapenet::data::Tree> synthetic_probes();

}  // namespace sentiment
