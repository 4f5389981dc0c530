#include "data/pairs.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

namespace tapenet::data {

namespace {

// ---- seeded shuffling, identical on every platform ----

// Uniform in [0, bound) by rejection: std::uniform_int_distribution's algorithm is unspecified.
std::size_t uniform_below(std::mt19937_64& rng, std::size_t bound) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t n = bound;
  const std::uint64_t limit = kMax - kMax % n;  // a multiple of n, so draws below it are unbiased
  std::uint64_t draw;
  do draw = rng(); while (draw >= limit);
  return static_cast<std::size_t>(draw % n);
}

template <class T>
void seeded_shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[uniform_below(rng, i)]);
}

std::vector<std::size_t> iota_indices(std::size_t count) {
  std::vector<std::size_t> indices(count);
  for (std::size_t i = 0; i < count; ++i) indices[i] = i;
  return indices;
}

// ---- line parsing ----

struct LineProblem {
  std::size_t* counter;  // the ReadReport field to increment
  std::string reason;
};

struct ParsedLine {
  std::optional<LineProblem> problem;
  std::array<Tokens, 2> sides;
  std::array<std::string, 2> texts;  // the fields as read
};

void strip_line_end(std::string& line, std::size_t line_no) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (line_no == 1 && std::string_view(line).substr(0, kBom.size()) == kBom) line.erase(0, kBom.size());
}

ParsedLine parse_line(std::string_view line, const NormalizeOptions& normalize, ReadReport& report) {
  ParsedLine parsed;
  if (const auto bad = find_invalid_utf8(line)) {
    parsed.problem = LineProblem{&report.bad_utf8, "invalid UTF-8 at byte " + std::to_string(*bad)};
    return parsed;
  }
  const std::size_t tab = line.find('\t');
  if (tab == std::string_view::npos) {
    parsed.problem = LineProblem{&report.no_tab, "no tab (expected 2 tab-separated fields)"};
    return parsed;
  }
  if (line.find('\t', tab + 1) != std::string_view::npos) {
    parsed.problem = LineProblem{&report.too_many_fields, "more than 2 tab-separated fields"};
    return parsed;
  }
  parsed.texts[0] = std::string(line.substr(0, tab));
  parsed.texts[1] = std::string(line.substr(tab + 1));
  parsed.sides[0] = normalize_tokens(parsed.texts[0], normalize);
  parsed.sides[1] = normalize_tokens(parsed.texts[1], normalize);
  for (std::size_t side = 0; side < 2 && !parsed.problem; ++side)
    if (parsed.sides[side].empty())
      parsed.problem = LineProblem{&report.empty_side, "empty field " + std::to_string(side + 1) +
                                                           " (no tokens after normalisation)"};
  return parsed;
}

void check_options(const PairReadOptions& options) {
  if (options.source_column > 1 || options.english_column > 1)
    throw std::invalid_argument("read_pairs: source_column and english_column must be 0 or 1");
}

bool too_long(const ParsedLine& parsed, std::size_t max_tokens) {
  return max_tokens > 0 && (parsed.sides[0].size() > max_tokens || parsed.sides[1].size() > max_tokens);
}

}  // namespace

const std::vector<std::string>& tutorial_english_prefixes() {
  static const std::vector<std::string> kPrefixes = {"i am ",   "i m ",   "he is",   "he s ",
                                                     "she is",  "she s ", "you are", "you re ",
                                                     "we are",  "we re ", "they are", "they re "};
  return kPrefixes;
}

PairFormatError::PairFormatError(const std::string& file, std::size_t line, const std::string& reason)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " + reason), file_(file), line_(line) {}

PairCorpus read_pairs(std::istream& in, const std::string& name, const PairReadOptions& options) {
  check_options(options);
  PairCorpus corpus;
  ReadReport& report = corpus.report;
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    ++report.lines;
    strip_line_end(line, line_no);
    ParsedLine parsed = parse_line(line, options.normalize, report);
    if (parsed.problem) {
      if (options.malformed == MalformedLines::kThrow) throw PairFormatError(name, line_no, parsed.problem->reason);
      ++*parsed.problem->counter;
      if (report.messages.size() < options.max_messages)
        report.messages.push_back(name + ":" + std::to_string(line_no) + ": " + parsed.problem->reason);
      continue;
    }
    if (too_long(parsed, options.max_tokens)) {
      ++report.too_long;
      continue;
    }
    if (options.english_prefix_filter &&
        !has_english_prefix(parsed.sides[options.english_column], options.english_prefixes)) {
      ++report.no_english_prefix;
      continue;
    }
    const std::size_t source = options.source_column;
    corpus.pairs.push_back({std::move(parsed.sides[source]), std::move(parsed.sides[1 - source]), line_no,
                            std::move(parsed.texts[source]), std::move(parsed.texts[1 - source])});
  }
  if (in.bad()) throw std::runtime_error(name + ": read error");
  report.kept = corpus.pairs.size();
  return corpus;
}

PairCorpus read_pairs(const std::string& path, const PairReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open sentence-pair file");
  return read_pairs(in, path, options);
}

std::string english_prefix_key(const Tokens& english) {
  std::string key;
  for (const std::string& token : english) {
    for (char c : token) {
      if (c == '\'') c = ' ';
      if (c == ' ' && (key.empty() || key.back() == ' ')) continue;  // collapse separators
      key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    if (!key.empty() && key.back() != ' ') key += ' ';
  }
  if (!key.empty() && key.back() == ' ') key.pop_back();
  return key;
}

bool has_english_prefix(const Tokens& english, const std::vector<std::string>& prefixes) {
  const std::string key = english_prefix_key(english);
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& prefix) { return key.compare(0, prefix.size(), prefix) == 0; });
}

DataSplit split_indices(std::size_t count, std::uint64_t seed, const SplitFractions& fractions) {
  const double sum = fractions.train + fractions.valid + fractions.test;
  if (fractions.train < 0 || fractions.valid < 0 || fractions.test < 0 || std::abs(sum - 1.0) > 1e-9)
    throw std::invalid_argument("split_indices: fractions must be >= 0 and sum to 1");
  const auto rounded = [count](double fraction) {
    return static_cast<std::size_t>(std::llround(fraction * static_cast<double>(count)));
  };
  const std::size_t valid = std::min(rounded(fractions.valid), count);
  const std::size_t test = std::min(rounded(fractions.test), count - valid);

  std::vector<std::size_t> order = iota_indices(count);
  std::mt19937_64 rng(seed);
  seeded_shuffle(order, rng);
  const auto part = [&order](std::size_t begin, std::size_t end) {
    std::vector<std::size_t> indices(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                     order.begin() + static_cast<std::ptrdiff_t>(end));
    std::sort(indices.begin(), indices.end());  // file order inside each part, for readability
    return indices;
  };
  return {part(valid + test, count), part(0, valid), part(valid, valid + test)};
}

Vocab build_seq2seq_vocab(const WordCounts& counts, std::size_t min_count) {
  // Vocab::build orders by descending count after <unk>, so the largest counts pin the specials
  // to 1, 2, 3; a literal special word in the text is dropped (it encodes as <unk>).
  WordCounts with_specials = counts;
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  with_specials[Seq2SeqSpecials::kPadToken] = kMax;
  with_specials[Seq2SeqSpecials::kSosToken] = kMax - 1;
  with_specials[Seq2SeqSpecials::kEosToken] = kMax - 2;
  Vocab vocab = Vocab::build(with_specials, std::max<std::size_t>(min_count, 1));
  check_seq2seq_vocab(vocab);
  return vocab;
}

void check_seq2seq_vocab(const Vocab& vocab) {
  const bool ok = vocab.size() >= Seq2SeqSpecials::kCount && vocab.word(Seq2SeqSpecials::kUnk) == Vocab::kUnkToken &&
                  vocab.word(Seq2SeqSpecials::kPad) == Seq2SeqSpecials::kPadToken &&
                  vocab.word(Seq2SeqSpecials::kSos) == Seq2SeqSpecials::kSosToken &&
                  vocab.word(Seq2SeqSpecials::kEos) == Seq2SeqSpecials::kEosToken;
  if (!ok) throw std::invalid_argument("seq2seq vocabulary must start with <unk>, <pad>, <sos>, <eos>");
}

PairVocabs build_pair_vocabs(const std::vector<SentencePair>& pairs, const std::vector<std::size_t>& indices,
                             std::size_t min_count) {
  WordCounts source, target;
  for (std::size_t i : indices) {
    const SentencePair& pair = pairs.at(i);
    for (const std::string& word : pair.source) ++source[word];
    for (const std::string& word : pair.target) ++target[word];
  }
  return {build_seq2seq_vocab(source, min_count), build_seq2seq_vocab(target, min_count)};
}

namespace {

bool is_special_word(const std::string& word) {
  return word == Seq2SeqSpecials::kPadToken || word == Seq2SeqSpecials::kSosToken ||
         word == Seq2SeqSpecials::kEosToken;
}

std::vector<int> encode_checked(const Vocab& vocab, const Tokens& tokens) {
  std::vector<int> indices;
  indices.reserve(tokens.size() + 1);
  for (const std::string& word : tokens)
    indices.push_back(is_special_word(word) ? Seq2SeqSpecials::kUnk : vocab.index(word));
  indices.push_back(Seq2SeqSpecials::kEos);
  return indices;
}

}  // namespace

std::vector<int> encode_sentence(const Vocab& vocab, const Tokens& tokens) {
  check_seq2seq_vocab(vocab);
  return encode_checked(vocab, tokens);
}

Tokens decode_sentence(const Vocab& vocab, const std::vector<int>& indices) {
  Tokens words;
  for (int index : indices) {
    if (index == Seq2SeqSpecials::kEos) break;
    if (index == Seq2SeqSpecials::kPad || index == Seq2SeqSpecials::kSos) continue;
    words.push_back(vocab.word(index));
  }
  return words;
}

std::vector<EncodedPair> encode_pairs(const std::vector<SentencePair>& pairs, const PairVocabs& vocabs) {
  check_seq2seq_vocab(vocabs.source);
  check_seq2seq_vocab(vocabs.target);
  std::vector<EncodedPair> encoded;
  encoded.reserve(pairs.size());
  for (const SentencePair& pair : pairs)
    encoded.push_back({encode_checked(vocabs.source, pair.source), encode_checked(vocabs.target, pair.target)});
  return encoded;
}

std::vector<std::vector<std::size_t>> length_buckets(const std::vector<EncodedPair>& data,
                                                     const std::vector<std::size_t>& indices,
                                                     std::size_t batch_size, std::uint64_t seed) {
  if (batch_size == 0) throw std::invalid_argument("length_buckets: batch_size must be > 0");
  std::vector<std::size_t> order = indices;
  std::mt19937_64 rng(seed);
  seeded_shuffle(order, rng);
  std::stable_sort(order.begin(), order.end(), [&data](std::size_t a, std::size_t b) {
    return data.at(a).source.size() < data.at(b).source.size();
  });
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t begin = 0; begin < order.size(); begin += batch_size) {
    const std::size_t end = std::min(begin + batch_size, order.size());
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(begin),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  seeded_shuffle(batches, rng);  // so training does not walk from short to long sentences
  return batches;
}

PaddedBatch pad_time_major(const std::vector<std::vector<int>>& sequences, int pad_index) {
  PaddedBatch batch;
  batch.batch = sequences.size();
  for (const auto& sequence : sequences) {
    batch.lengths.push_back(sequence.size());
    batch.steps = std::max(batch.steps, sequence.size());
  }
  batch.tokens.assign(batch.steps * batch.batch, pad_index);
  batch.mask.assign(batch.steps * batch.batch, 0.0);
  for (std::size_t b = 0; b < batch.batch; ++b) {
    for (std::size_t t = 0; t < sequences[b].size(); ++t) {
      batch.tokens[t * batch.batch + b] = sequences[b][t];
      batch.mask[t * batch.batch + b] = 1.0;
    }
  }
  return batch;
}

PairBatch make_pair_batch(const std::vector<EncodedPair>& data, const std::vector<std::size_t>& indices) {
  std::vector<std::vector<int>> sources, inputs, outputs;
  for (std::size_t i : indices) {
    const EncodedPair& pair = data.at(i);
    if (pair.target.empty()) throw std::invalid_argument("make_pair_batch: empty target for pair " + std::to_string(i));
    sources.push_back(pair.source);
    outputs.push_back(pair.target);
    std::vector<int> shifted{Seq2SeqSpecials::kSos};  // <sos> y_1 .. y_{n-1}
    shifted.insert(shifted.end(), pair.target.begin(), pair.target.end() - 1);
    inputs.push_back(std::move(shifted));
  }
  return {indices, pad_time_major(sources), pad_time_major(inputs), pad_time_major(outputs)};
}

}  // namespace tapenet::data
