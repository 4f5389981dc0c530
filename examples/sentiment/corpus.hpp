// The sentiment example's data: the three splits (SST from --data, or the built-in
// synthetic treebank), the vocabulary saved beside a checkpoint, and the synthetic
// treebank's probes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/run_config.hpp"
#include <tapenet/data/tree.hpp>
#include <tapenet/data/vocab.hpp>
#include <tapenet/layers/tree_nets.hpp>

namespace sentiment {

struct Splits {
  std::vector<tapenet::data::Tree> train, dev, test;
  std::string source;
};

// In binary mode every split keeps only its trees with a non-neutral root (SST-2).
Splits load_splits(const tapenet::examples::Args& args, tapenet::examples::RunConfig& settings, std::uint64_t seed,
                   tapenet::data::LabelMode labels);

// A run resumes on the data it was trained on: SST (--data) or the synthetic treebank.
void check_data_source(tapenet::examples::RunConfig& config, bool synthetic);

// The vocabulary saved with `checkpoint`, in FILE.vocab.
tapenet::data::Vocab load_vocab(const std::string& checkpoint);
void save_vocab(const tapenet::data::Vocab& vocab, const std::string& checkpoint);

// The synthetic treebank's hand-written probes (negation, contrast): predicted root / gold.
void print_probes(const tapenet::TreeNet<float>& net, const tapenet::data::Vocab& vocab,
                  tapenet::data::LabelMode labels, int threads);

}  // namespace sentiment
