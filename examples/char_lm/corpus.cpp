#include "corpus.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>

#include <tapenet/data/text.hpp>

namespace char_lm {

std::string describe_char(char32_t c) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  std::string shown;
  switch (c) {
    case U'\n': shown = "\\n"; break;
    case U'\t': shown = "\\t"; break;
    case U'\r': shown = "\\r"; break;
    default:
      if (c < 0x20 || c == 0x7F) shown = "?";
      else tapenet::data::append_utf8(shown, c);
  }
  return "'" + shown + "' (" + code + ")";
}

// ---- vocabulary ----------------------------------------------------------------------------

Vocabulary Vocabulary::of_text(const std::u32string& train, bool with_unk) {
  Vocabulary v;
  const std::set<char32_t> distinct(train.begin(), train.end());
  v.chars_.assign(distinct.begin(), distinct.end());
  for (std::size_t i = 0; i < v.chars_.size(); ++i) v.index_[v.chars_[i]] = static_cast<std::int64_t>(i);
  v.has_unk_ = with_unk;
  return v;
}

std::int64_t Vocabulary::id(char32_t c, const std::string& where) const {
  auto it = index_.find(c);
  if (it == index_.end())
    throw std::invalid_argument(where + ": character " + describe_char(c) + " is not in the vocabulary (the " +
                                std::to_string(chars_.size()) + " characters of the training text)");
  return it->second;
}

std::vector<std::int64_t> Vocabulary::encode_mapping_unknown(const std::u32string& text, std::size_t* unknown) const {
  std::vector<std::int64_t> ids;
  ids.reserve(text.size());
  for (char32_t c : text) {
    auto it = index_.find(c);
    if (it != index_.end()) {
      ids.push_back(it->second);
      continue;
    }
    if (!has_unk_) throw std::logic_error("Vocabulary: " + describe_char(c) + " is unknown and there is no <unk>");
    ids.push_back(unk_id());
    if (unknown) ++*unknown;
  }
  return ids;
}

std::vector<std::int64_t> Vocabulary::encode_strict(const std::u32string& text, const std::string& where) const {
  std::vector<std::int64_t> ids;
  ids.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) ids.push_back(id(text[i], where + " (character " + std::to_string(i) + ")"));
  return ids;
}

std::string Vocabulary::decode(const std::vector<std::int64_t>& ids) const {
  std::string out;
  for (std::int64_t id : ids) {
    if (id >= 0 && static_cast<std::size_t>(id) < chars_.size())
      tapenet::data::append_utf8(out, chars_[static_cast<std::size_t>(id)]);
    else
      out += "\xEF\xBF\xBD";  // U+FFFD for <unk>
  }
  return out;
}

// ---- synthetic text ------------------------------------------------------------------------

namespace {

struct Noun {
  const char* singular;
  const char* plural;
};
struct Verb {
  const char* singular;  // agrees with a singular subject
  const char* plural;
};

const Noun kNouns[] = {{"cat", "cats"},   {"dog", "dogs"},       {"king", "kings"}, {"queen", "queens"},
                       {"fox", "foxes"},  {"child", "children"}, {"mouse", "mice"}, {"horse", "horses"},
                       {"bird", "birds"}, {"sailor", "sailors"}};
const Verb kVerbs[] = {{"sees", "see"},     {"follows", "follow"}, {"likes", "like"},   {"chases", "chase"},
                       {"greets", "greet"}, {"watches", "watch"},  {"hears", "hear"},   {"finds", "find"}};
const char* const kAdjectives[] = {"old", "young", "small", "brave", "quiet", "red", "clever", "tired"};
const char* const kAdverbs[] = {"today", "again", "at night", "in the garden", "by the river"};

}  // namespace

// line     := sentence (" " sentence){0..2} "\n"
// sentence := subject verb object [adverb] ("." | "!")       (first letter capitalised)
// subject  := ("the" | "a" | "some") [adjective] noun         "a" -> singular, "some" -> plural,
// object   := ("the" | "a" | "some") [adjective] noun         "the" -> either
// The verb agrees in number with the subject noun, so predicting it needs memory of the
// subject across the adjective and noun.
std::string synthetic_text(std::size_t chars, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  auto coin = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  auto noun_phrase = [&](std::string& out) {
    const std::size_t det = pick(3);  // 0 the, 1 a, 2 some
    const bool plural = det == 2 || (det == 0 && coin(0.5));
    out += det == 0 ? "the " : det == 1 ? "a " : "some ";
    if (coin(0.4)) out += std::string(kAdjectives[pick(std::size(kAdjectives))]) + " ";
    const Noun& n = kNouns[pick(std::size(kNouns))];
    out += plural ? n.plural : n.singular;
    return plural;
  };
  std::string text;
  while (text.size() < chars) {
    const std::size_t sentences = 1 + pick(3);
    for (std::size_t s = 0; s < sentences; ++s) {
      std::string sentence;
      const bool plural = noun_phrase(sentence);
      const Verb& v = kVerbs[pick(std::size(kVerbs))];
      sentence += std::string(" ") + (plural ? v.plural : v.singular) + " ";
      noun_phrase(sentence);
      if (coin(0.3)) sentence += std::string(" ") + kAdverbs[pick(std::size(kAdverbs))];
      sentence += coin(0.8) ? "." : "!";
      sentence[0] = static_cast<char>(sentence[0] - 'a' + 'A');
      text += (s ? " " : "") + sentence;
    }
    text += "\n";
  }
  text.resize(chars);
  return text;
}

// ---- corpus ---------------------------------------------------------------------------------

namespace {

std::u32string decoded(const std::string& utf8, const std::string& name) {
  if (auto bad = tapenet::data::find_invalid_utf8(utf8))
    throw std::invalid_argument(name + ": not valid UTF-8 at byte offset " + std::to_string(*bad));
  return tapenet::data::decode_utf8(utf8);
}

// The vocabulary of `train` (with <unk> when a held-out text has a character it lacks) and
// the ids of every split.
Corpus corpus_of(const std::u32string& train, const std::u32string& valid, const std::u32string& test,
                 const std::string& train_name) {
  if (train.empty() || valid.empty()) throw std::invalid_argument(train_name + ": an empty training or validation text");
  Vocabulary probe = Vocabulary::of_text(train, false);
  Corpus c;
  for (const std::u32string* held_out : {&valid, &test})
    for (char32_t ch : *held_out)
      if (!probe.contains(ch) && c.unknown_examples.size() < 5 && c.unknown_examples.find(ch) == std::u32string::npos)
        c.unknown_examples += ch;
  c.vocab = Vocabulary::of_text(train, !c.unknown_examples.empty());
  c.train = c.vocab.encode_strict(train, train_name);
  c.valid = c.vocab.encode_mapping_unknown(valid, &c.valid_unknown);
  if (!test.empty()) c.test = c.vocab.encode_mapping_unknown(test, &c.test_unknown);
  return c;
}

}  // namespace

Corpus make_corpus(const std::string& utf8_text, const std::string& source_name) {
  const std::u32string text = decoded(utf8_text, source_name);
  if (text.size() < 100)
    throw std::invalid_argument(source_name + ": only " + std::to_string(text.size()) +
                                " characters; need at least 100 to split 90/10");
  const std::size_t n_train = text.size() * 9 / 10;
  const std::u32string train(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(n_train));
  const std::u32string valid(text.begin() + static_cast<std::ptrdiff_t>(n_train), text.end());
  return corpus_of(train, valid, {}, source_name);
}

Corpus make_split_corpus(const SplitTexts& texts) {
  const std::u32string test = texts.test_name.empty() ? std::u32string() : decoded(texts.test, texts.test_name);
  if (!texts.test_name.empty() && test.empty()) throw std::invalid_argument(texts.test_name + ": an empty test text");
  return corpus_of(decoded(texts.train, texts.train_name), decoded(texts.valid, texts.valid_name), test,
                   texts.train_name);
}

}  // namespace char_lm
