// libFuzzer target: the word-corpus reader (data/lm_corpus.hpp) and the vocabulary file
// readers (WordVocabulary::from_text, data::Vocab::load through a temp file). Only
// CorpusError / VocabError may escape.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/lm_corpus.hpp"
#include "data/vocab.hpp"
#include "fuzz_support.hpp"

using namespace tapenet::data;
using tapenet::fuzz::reading;

namespace {

std::string temp_path() {
  return "/tmp/tapenet-fuzz-vocab-" + std::to_string(::getpid()) + ".txt";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(tapenet::fuzz::text_of(data, size));
  WordCorpusOptions o;
  o.max_vocab = size % 3 == 0 ? 0 : size % 7 + 1;
  WordVocabulary vocab;
  reading<CorpusError>([&] {
    const WordStream train = training_words_of_text(text, "train.txt", o, vocab);
    for (const std::int64_t id : train.ids)
      if (id < 0 || static_cast<std::size_t>(id) >= vocab.size()) std::abort();
    const WordVocabulary again = WordVocabulary::from_text(vocab.to_text(), o.unk);
    if (again.size() > vocab.size()) std::abort();
    words_of_text(text, "valid.txt", o, vocab);
  });
  const WordVocabulary v = WordVocabulary::from_text(text, "<unk>");
  reading<CorpusError>([&] { words_of_text(text, "test.txt", o, v); });

  const std::string path = temp_path();
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    reading<VocabError>([&] {
      const Vocab loaded = Vocab::load(path);
      if (loaded.size() == 0 || loaded.word(Vocab::kUnkIndex) != Vocab::kUnkToken) std::abort();
    });
    std::remove(path.c_str());
  }
  return 0;
}
