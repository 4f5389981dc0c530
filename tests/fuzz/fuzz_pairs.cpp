// libFuzzer target: data::read_pairs on a whole file of bytes, under both malformed-line
// policies and a few options. Only PairFormatError (kThrow) may escape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "data/pairs.hpp"
#include "fuzz_support.hpp"

using namespace tapenet::data;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned char flags = data[0];  // the first byte picks the options
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  PairReadOptions o;
  o.source_column = flags & 1;
  o.normalize.lowercase = flags & 2;
  o.normalize.strip_accents = flags & 4;
  o.normalize.split_punctuation = flags & 8;
  o.max_tokens = (flags >> 4) & 3;
  o.english_prefix_filter = flags & 64;
  o.malformed = flags & 128 ? MalformedLines::kThrow : MalformedLines::kSkip;
  std::istringstream in(text);
  const bool read = tapenet::fuzz::reading<PairFormatError>([&] {
    const PairCorpus corpus = read_pairs(in, "fuzz.txt", o);
    const ReadReport& r = corpus.report;
    if (corpus.pairs.size() != r.kept || r.kept + r.malformed() + r.filtered() > r.lines) std::abort();
    for (const SentencePair& p : corpus.pairs)
      if (p.source.empty() || p.target.empty()) std::abort();
  });
  if (!read && o.malformed != MalformedLines::kThrow) std::abort();
  return 0;
}
