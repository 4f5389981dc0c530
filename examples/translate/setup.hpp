// examples/translate's pieces below the program: the options a checkpoint remembers, the
// data (tab-separated pairs or the built-in number task), batching and the evaluations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../common/cli.hpp"
#include "../common/run_config.hpp"
#include <tapenet/data/bleu.hpp>
#include <tapenet/data/pairs.hpp>
#include <tapenet/data/sacrebleu.hpp>
#include <tapenet/data/subwords.hpp>
#include <tapenet/layers/seq2seq.hpp>

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
  // Subwords: "none" (words), "bpe" or "unigram" (SentencePiece, trained on the training split);
  // vocab_size pieces per model, one model for both sides with joint_vocab.
  std::string subwords = "none";
  std::size_t vocab_size = 8000;
  bool joint_vocab = false;
  bool lowercase = true;  // default: yes for words, no for subwords
  bool reject_malformed = false;  // --malformed reject: the first malformed line is an error
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

// Beam search and its limits: --beam, --length-alpha, --max-output (default 30 words, 250
// subwords), and --max-ratio R, which caps each sentence's output at ceil(R · source tokens) + 1
// (default 0, no such cap, with words; 2 with subwords).
struct Decoding {
  tapenet::SearchOptions search;
  double max_ratio = 0;
  // The search options for one batch (the per-sentence caps from the source lengths).
  tapenet::SearchOptions for_batch(const tapenet::SourceBatch& source) const;
};
Decoding decoding_options(const tapenet::examples::Args& args, const Settings& s);

// The built-in task: English number words -> digits ("forty two" -> "4 2"), a pure function
// of (count, seed).
std::vector<td::SentencePair> synthetic_pairs(std::size_t count, std::uint64_t seed);

struct Dataset {
  std::vector<td::SentencePair> pairs;  // with subwords, source/target hold the pieces
  td::DataSplit split;
  td::PairVocabs vocabs;
  std::vector<td::EncodedPair> encoded;
  td::NormalizeOptions words;           // word tokens: the word-level model's and the tokenised BLEU's
  bool synthetic = false;               // the built-in task (its text is split on spaces only)
  std::optional<td::SubwordModel> source_model, target_model;  // with --subwords (the same one when joint)

  bool subwords() const { return target_model.has_value(); }
  // The model's tokens of one source sentence (words or pieces), before the vocabulary.
  td::Tokens source_tokens(const std::string& text) const;
  // Word tokens of a text for the tokenised BLEU and the --max-len check.
  td::Tokens word_tokens(const std::string& text) const;
  // The text of output tokens: subwords decoded, words detokenised.
  std::string output_text(const td::Tokens& tokens) const;
};

// Whether the data are fixed splits (--train ... or --train-source ...), not --data.
bool has_fixed_splits(const Settings& s);

// No pairs yet: the word options and the synthetic flag of the settings.
Dataset empty_data(const Settings& s);

// The pairs and their split; the vocabularies from the training split when `build_vocabs`
// (word level; with subwords apply_subwords builds them). An empty split is an error.
Dataset load_data(const Settings& s, bool build_vocabs);
void encode(Dataset& d);

// ---- subwords (--subwords): SentencePiece models stored beside the checkpoint -------------------

// FILE.spm when joint, else FILE.src.spm and FILE.tgt.spm.
std::vector<std::string> subword_files(const Settings& s, const std::string& checkpoint);
// Trains the model(s) on the training split's text.
void train_subwords(const Settings& s, Dataset& d);
// Writes the model(s) beside the checkpoint (atomically) and returns their fingerprint, which
// the checkpoint's options remember as "subword-model".
std::string save_subwords(const Settings& s, const Dataset& d, const std::string& checkpoint);
// Loads the model(s) of a checkpoint; throws when a file is missing or is not the model the
// checkpoint was trained with (`fingerprint`: the checkpoint's "subword-model").
void load_subwords(const Settings& s, Dataset& d, const std::string& checkpoint, const std::string& fingerprint);
// Replaces every pair's tokens with its pieces; the vocabularies from the models' pieces when
// `build_vocabs`.
void apply_subwords(Dataset& d, bool build_vocabs);

inline std::vector<std::int64_t> to_ids(const std::vector<int>& v) { return {v.begin(), v.end()}; }

tapenet::SourceBatch source_batch(const Dataset& d, const std::vector<std::size_t>& idx);
// Time-major targets y_1 .. y_n <eos>, -100 at padding.
std::vector<std::int64_t> target_ids(const Dataset& d, const std::vector<std::size_t>& idx);

double evaluate_ppl(tapenet::Seq2Seq<float>& model, const Dataset& d, const std::vector<std::size_t>& idx);

struct BleuResult {
  td::BleuScore score;                 // corpus BLEU on lowercased word tokens (Dataset::word_tokens)
  td::BleuScore sacre;                 // sacreBLEU's default: detokenised output against the raw reference
  double chrf = 0;                     // chrF2 (sacreBLEU's default), likewise
  double unk_rate = 0;                 // output tokens that are <unk>, over all output tokens
  std::vector<std::size_t> order;      // the pairs in the order they were decoded
  std::vector<td::Tokens> hypotheses;  // the model's tokens, in that order
  std::vector<std::string> texts;      // their text (Dataset::output_text)
};

// The metrics of beam search (or greedy decoding) on the pairs `idx`.
BleuResult evaluate_bleu(tapenet::Seq2Seq<float>& model, const Dataset& d, std::vector<std::size_t> idx,
                         const Decoding& decoding, bool greedy);

}  // namespace nmt
