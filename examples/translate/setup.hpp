// examples/translate's pieces below the program: the options a checkpoint remembers, the
// data (tab-separated pairs or the built-in number task), batching and the evaluations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/run_config.hpp"
#include "data/bleu.hpp"
#include "data/pairs.hpp"
#include "layers/seq2seq.hpp"

namespace nmt {

namespace td = tapenet::data;

// The options that define the data and the model are fixed by the checkpoint (given again on
// --resume, eval or translate, they must match); the training options are tunable.
struct Settings {
  std::string data, direction, cell, attention;
  // Fixed splits: tab-separated files, or aligned source/target files, per split (empty: none).
  std::string train, valid, test, train_source, train_target, valid_source, valid_target, test_source, test_target;
  std::size_t source_column = 1;  // of a tab-separated line; the target is the other column
  bool tutorial = false, bidirectional = false;
  std::size_t max_len = 0, min_count = 1, synthetic_size = 0, embedding = 0, hidden = 0, layers = 1;
  std::uint64_t seed = 1;
  double dropout = 0;
  // training
  std::size_t epochs = 0, batch = 0, decay_after = 0;
  double lr = 0, lr_decay = 1, clip = 0, teacher_forcing = 1;
};

// `training`: also the training options (eval and translate read only the data and model ones).
Settings read_settings(tapenet::examples::RunConfig& c, bool training);
tapenet::Seq2SeqOptions model_options(const Settings& s, const td::PairVocabs& vocabs);
tapenet::SearchOptions search_options(const tapenet::examples::Args& args);

// The built-in task: English number words -> digits ("forty two" -> "4 2"), a pure function
// of (count, seed).
std::vector<td::SentencePair> synthetic_pairs(std::size_t count, std::uint64_t seed);

struct Dataset {
  std::vector<td::SentencePair> pairs;
  td::DataSplit split;
  td::PairVocabs vocabs;
  std::vector<td::EncodedPair> encoded;
};

// Whether the data are fixed splits (--train ... or --train-source ...), not --data.
bool has_fixed_splits(const Settings& s);

// The pairs and their split; the vocabularies from the training split when `build_vocabs`.
Dataset load_data(const Settings& s, bool build_vocabs);
void encode(Dataset& d);

inline std::vector<std::int64_t> to_ids(const std::vector<int>& v) { return {v.begin(), v.end()}; }

tapenet::SourceBatch source_batch(const Dataset& d, const std::vector<std::size_t>& idx);
// Time-major targets y_1 .. y_n <eos>, -100 at padding.
std::vector<std::int64_t> target_ids(const Dataset& d, const std::vector<std::size_t>& idx);

double evaluate_ppl(tapenet::Seq2Seq<float>& model, const Dataset& d, const std::vector<std::size_t>& idx);

struct BleuResult {
  td::BleuScore score;
  std::vector<std::size_t> order;      // the pairs in the order they were decoded
  std::vector<td::Tokens> hypotheses;  // in that order
};

// Corpus BLEU of beam search (or greedy decoding) on the pairs `idx`.
BleuResult evaluate_bleu(tapenet::Seq2Seq<float>& model, const Dataset& d, std::vector<std::size_t> idx,
                         const tapenet::SearchOptions& so, bool greedy);

}  // namespace nmt
