// word_lm's data: the --train/--valid/--test files (data/lm_corpus.hpp), or a built-in
// synthetic corpus when no --train is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapenet/data/lm_corpus.hpp>

namespace word_lm {

struct Corpus {
  tapenet::data::WordVocabulary vocab;
  tapenet::data::WordStream train, valid, test;  // test.ids empty without --test
  std::string source;                            // "synthetic" or the training file
};

// Sentences from a small grammar with number agreement ("the old cat sees a dog ."),
// with a rare noun written <unk> as in the Penn Treebank text: a pure function of
// (sentences, seed), one sentence per line.
std::string synthetic_sentences(std::size_t sentences, std::uint64_t seed);

// The files, or (train empty) the synthetic corpus: 2000 / 200 / 200 sentences.
Corpus load_corpus(const std::string& train, const std::string& valid, const std::string& test,
                   const tapenet::data::WordCorpusOptions& options);

}  // namespace word_lm
