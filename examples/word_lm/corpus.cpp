#include "corpus.hpp"

#include <random>
#include <stdexcept>

namespace word_lm {

namespace td = tapenet::data;

namespace {

template <std::size_t N>
const char* pick(const char* const (&words)[N], std::mt19937_64& rng) {
  return words[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng)];
}

std::string noun_phrase(bool plural, std::mt19937_64& rng) {
  static const char* const det_one[] = {"the", "a", "this", "every"};
  static const char* const det_many[] = {"the", "some", "these", "many"};
  static const char* const adjectives[] = {"old", "small", "red", "quiet", "happy"};
  static const char* const nouns[] = {"cat", "dog", "bird", "child", "teacher", "farmer"};
  std::string np = plural ? pick(det_many, rng) : pick(det_one, rng);
  if (std::bernoulli_distribution(0.4)(rng)) np += std::string(" ") + pick(adjectives, rng);
  // One noun in fifty is a rare word, written <unk> (the Penn Treebank convention).
  if (std::bernoulli_distribution(0.02)(rng)) return np + " <unk>";
  return np + " " + pick(nouns, rng) + (plural ? "s" : "");
}

}  // namespace

std::string synthetic_sentences(std::size_t sentences, std::uint64_t seed) {
  static const char* const verbs[] = {"see", "like", "follow", "help"};
  static const char* const adverbs[] = {"today", "again", "slowly", "often"};
  std::mt19937_64 rng(seed);
  std::string text;
  for (std::size_t i = 0; i < sentences; ++i) {
    const bool plural = std::bernoulli_distribution(0.5)(rng);
    std::string s = noun_phrase(plural, rng) + " " + pick(verbs, rng) + (plural ? "" : "s") + " " +
                    noun_phrase(std::bernoulli_distribution(0.5)(rng), rng);
    if (std::bernoulli_distribution(0.3)(rng)) s += std::string(" ") + pick(adverbs, rng);
    text += s + " .\n";
  }
  return text;
}

Corpus load_corpus(const std::string& train, const std::string& valid, const std::string& test,
                   const td::WordCorpusOptions& options) {
  Corpus c;
  if (train.empty()) {
    if (!valid.empty() || !test.empty()) throw std::invalid_argument("--valid and --test need --train");
    c.source = "synthetic";
    c.train = td::training_words_of_text(synthetic_sentences(2000, 11), "synthetic train", options, c.vocab);
    c.valid = td::words_of_text(synthetic_sentences(200, 12), "synthetic valid", options, c.vocab);
    c.test = td::words_of_text(synthetic_sentences(200, 13), "synthetic test", options, c.vocab);
    return c;
  }
  if (valid.empty()) throw std::invalid_argument("--train needs --valid (the held-out text that selects the model)");
  c.source = train;
  c.train = td::read_training_words(train, options, c.vocab);
  c.valid = td::read_words(valid, options, c.vocab);
  if (!test.empty()) c.test = td::read_words(test, options, c.vocab);
  return c;
}

}  // namespace word_lm
