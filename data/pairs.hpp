/// @file
/// Tab-separated sentence pairs for seq2seq translation (e.g. shared/data/translation/eng-fra.txt):
/// reading with filters and a malformed-line policy, a seeded train/valid/test split, per-side
/// vocabularies, encoding, length bucketing and time-major padded batches.
///
/// Typical fra→eng pipeline on eng-fra.txt (English<TAB>French):
/// @code
///   PairReadOptions o;  o.source_column = 1;  o.max_tokens = 10;
///   PairCorpus corpus = read_pairs(path, o);
///   DataSplit split = split_indices(corpus.pairs.size(), seed);
///   PairVocabs vocabs = build_pair_vocabs(corpus.pairs, split.train, 2);
///   std::vector<EncodedPair> data = encode_pairs(corpus.pairs, vocabs);
///   for (auto& indices : length_buckets(data, split.train, 32, seed + epoch))
///     PairBatch batch = make_pair_batch(data, indices);
/// @endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/text.hpp"
#include "data/vocab.hpp"

namespace tapenet::data {

// ---- reading ---------------------------------------------------------------------------------

/// The PyTorch seq2seq tutorial's eng_prefixes.
const std::vector<std::string>& tutorial_english_prefixes();

enum class MalformedLines {
  kSkip,   ///< count them in ReadReport and go on
  kThrow,  ///< throw PairFormatError at the first one
};

struct PairReadOptions {
  std::size_t source_column = 0;  ///< 0 or 1, the target is the other one; fra→eng on eng-fra.txt: 1
  NormalizeOptions normalize;
  /// Keep a pair only if both sides have at most max_tokens tokens (before `<eos>`); 0 = no limit.
  /// The tutorial's MAX_LENGTH = 10 keeps fewer than 10 words, i.e. max_tokens = 9.
  std::size_t max_tokens = 0;
  /// Keep a pair only if its English side starts with one of english_prefixes (see english_prefix_key).
  bool english_prefix_filter = false;
  std::size_t english_column = 0;
  std::vector<std::string> english_prefixes = tutorial_english_prefixes();
  MalformedLines malformed = MalformedLines::kSkip;
  std::size_t max_messages = 5;  ///< file:line messages kept in ReadReport
};

struct SentencePair {
  Tokens source;
  Tokens target;
  std::size_t line = 0;  ///< 1-based line number in the file
  /// The fields as read (before normalisation): for subword models and detokenised metrics.
  std::string source_text;
  std::string target_text;
};

/// Malformed lines (no tab, more than 2 fields, a side with no tokens after normalisation, bad
/// UTF-8) and well-formed lines removed by the filters. A pair failing both filters counts as too_long.
struct ReadReport {
  std::size_t lines = 0;
  std::size_t kept = 0;
  std::size_t no_tab = 0;
  std::size_t too_many_fields = 0;
  std::size_t empty_side = 0;
  std::size_t bad_utf8 = 0;
  std::size_t too_long = 0;
  std::size_t no_english_prefix = 0;
  std::vector<std::string> messages;  ///< the first malformed lines, "file:line: reason"

  std::size_t malformed() const { return no_tab + too_many_fields + empty_side + bad_utf8; }
  std::size_t filtered() const { return too_long + no_english_prefix; }
};

/// Thrown for a malformed line under MalformedLines::kThrow; what() is "file:line: reason".
class PairFormatError : public std::runtime_error {
 public:
  PairFormatError(const std::string& file, std::size_t line, const std::string& reason);
  const std::string& file() const { return file_; }
  std::size_t line() const { return line_; }

 private:
  std::string file_;
  std::size_t line_;
};

struct PairCorpus {
  std::vector<SentencePair> pairs;
  ReadReport report;
};

/// Lines may end in LF or CRLF; a UTF-8 BOM at the start of the file is ignored.
/// Throws std::runtime_error if the file cannot be opened, std::invalid_argument on bad options.
PairCorpus read_pairs(const std::string& path, const PairReadOptions& options = {});
/// `name` is the file name used in messages.
PairCorpus read_pairs(std::istream& in, const std::string& name, const PairReadOptions& options = {});

/// The string the English prefixes are matched against: the normalised tokens joined by spaces,
/// with every apostrophe turned into a space and ASCII lowercased, e.g. "i' m here ." → "i m here .".
/// This makes the tutorial's "i m " / "he s " / "you re " match our "i' m" / "he' s" / "you' re",
/// exactly as the tutorial's own normalisation turns "I'm" into "i m". The match is a plain
/// starts-with, like the tutorial's (so "he is" also keeps "he isn' t ...").
std::string english_prefix_key(const Tokens& english);
bool has_english_prefix(const Tokens& english, const std::vector<std::string>& prefixes);

// ---- split ------------------------------------------------------------------------------------

struct SplitFractions {
  double train = 0.90;
  double valid = 0.05;
  double test = 0.05;
};

struct DataSplit {
  std::vector<std::size_t> train, valid, test;  ///< each sorted ascending
};

/// A seeded shuffle of 0..count-1 cut into train/valid/test: a pure function of (count, seed,
/// fractions), identical on every platform (own Fisher-Yates over std::mt19937_64, whose output
/// the standard fixes). valid and test get round(count * fraction) items, train the rest.
/// Fractions must be >= 0 and sum to 1.
DataSplit split_indices(std::size_t count, std::uint64_t seed, const SplitFractions& fractions = {});

// ---- vocabularies and encoding ----------------------------------------------------------------

/// Fixed special indices of every seq2seq vocabulary. Vocab reserves only `<unk>` = 0, so the others
/// follow in this order; literal "<pad>"/"<sos>"/"<eos>" words in the text are encoded as `<unk>`.
struct Seq2SeqSpecials {
  static constexpr int kUnk = Vocab::kUnkIndex;  ///< 0
  static constexpr int kPad = 1;
  static constexpr int kSos = 2;
  static constexpr int kEos = 3;
  static constexpr std::size_t kCount = 4;
  static inline const std::string kPadToken = "<pad>";
  static inline const std::string kSosToken = "<sos>";
  static inline const std::string kEosToken = "<eos>";
};

/// `<unk>`, `<pad>`, `<sos>`, `<eos>`, then the words seen at least min_count times (Vocab::build order).
Vocab build_seq2seq_vocab(const WordCounts& counts, std::size_t min_count = 1);
/// Throws std::invalid_argument unless the specials sit at their fixed indices (e.g. after Vocab::load).
void check_seq2seq_vocab(const Vocab& vocab);

struct PairVocabs {
  Vocab source;
  Vocab target;
};

/// Counts only the pairs listed in `indices` (the training split, so valid/test words stay unknown).
PairVocabs build_pair_vocabs(const std::vector<SentencePair>& pairs, const std::vector<std::size_t>& indices,
                             std::size_t min_count = 1);

/// Token indices with `<eos>` appended.
std::vector<int> encode_sentence(const Vocab& vocab, const Tokens& tokens);
/// Words up to the first `<eos>`, skipping `<pad>` and `<sos>`; for BLEU on model output.
Tokens decode_sentence(const Vocab& vocab, const std::vector<int>& indices);

struct EncodedPair {
  std::vector<int> source;  ///< ends with Seq2SeqSpecials::kEos
  std::vector<int> target;  ///< ends with Seq2SeqSpecials::kEos
};

std::vector<EncodedPair> encode_pairs(const std::vector<SentencePair>& pairs, const PairVocabs& vocabs);

// ---- batching ---------------------------------------------------------------------------------

/// Minibatches of pair indices with similar source lengths: the indices are shuffled (seeded, so
/// equal lengths mix), stably sorted by encoded source length, cut into runs of batch_size (the
/// last may be smaller), and the batch order is shuffled. Deterministic given the seed; every
/// index appears exactly once. Use a new seed per epoch for new batches.
std::vector<std::vector<std::size_t>> length_buckets(const std::vector<EncodedPair>& data,
                                                     const std::vector<std::size_t>& indices,
                                                     std::size_t batch_size, std::uint64_t seed);

/// A time-major [T, B] batch of variable-length sequences, T = longest length.
struct PaddedBatch {
  std::size_t steps = 0;              ///< T
  std::size_t batch = 0;              ///< B
  std::vector<int> tokens;            ///< [T, B] row-major: tokens[t * batch + b], padded with the pad index
  std::vector<double> mask;           ///< [T, B]: 1 at real tokens, 0 at padding
  std::vector<std::size_t> lengths;   ///< [B]

  int token(std::size_t t, std::size_t b) const { return tokens[t * batch + b]; }
  double mask_at(std::size_t t, std::size_t b) const { return mask[t * batch + b]; }
};

PaddedBatch pad_time_major(const std::vector<std::vector<int>>& sequences, int pad_index = Seq2SeqSpecials::kPad);

/// Teacher forcing: the decoder reads target_input = `<sos>` y_1 .. y_{n-1} and predicts
/// target_output = y_1 .. y_n (= the encoded target, ending in `<eos>`); both share lengths and mask.
struct PairBatch {
  std::vector<std::size_t> indices;  ///< pair index of each column b
  PaddedBatch source;
  PaddedBatch target_input;
  PaddedBatch target_output;
};

PairBatch make_pair_batch(const std::vector<EncodedPair>& data, const std::vector<std::size_t>& indices);

}  // namespace tapenet::data
