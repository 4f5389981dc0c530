// Entity (chunk) precision, recall and F1 of BIO / IOB tag sequences by the rules of the
// CoNLL-2000/2003 evaluation script conlleval.pl:
//   - a tag is "O" or "<prefix>-<TYPE>" with prefix B, I (also E, S of IOBES, and "[" / "]");
//   - a chunk starts at B-X, at I-X after O or after a tag of another type (an I- without
//     B- opens a chunk: IOB1 and conlleval's lenient reading), and ends where the next tag
//     does not continue it;
//   - a predicted chunk is correct when a gold chunk has exactly the same boundaries and
//     the same type.
// precision = correct / predicted, recall = correct / gold, F1 their harmonic mean (in %;
// 0 when a count is 0). Header-only: the tagger and tests/test_conlleval.cpp share it.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace tagger {

struct Chunk {
  std::size_t begin = 0, end = 0;  // [begin, end) token positions
  std::string type;
  bool operator==(const Chunk& o) const { return begin == o.begin && end == o.end && type == o.type; }
};

namespace conlleval_detail {

// "B-PER" -> ('B', "PER"); "O" -> ('O', ""); a tag without a '-' is its own type, prefix I.
inline std::pair<char, std::string> split_tag(const std::string& tag) {
  if (tag == "O" || tag.empty()) return {'O', ""};
  const std::size_t dash = tag.find('-');
  if (dash == 1) return {tag[0], tag.substr(2)};
  return {'I', tag};
}

// conlleval.pl's endOfChunk / startOfChunk for B, I, O, '[' and ']'; E and S (IOBES) end
// their chunk, S and B always start one.
inline bool ends(char prev, const std::string& prev_type, char tag, const std::string& type) {
  if (prev == 'O') return false;
  if (prev == 'E' || prev == 'S' || prev == '[' || prev == ']') return true;
  if (tag == 'B' || tag == 'S' || tag == 'O' || tag == '[' || tag == ']') return true;  // prev B or I
  return prev_type != type;
}
inline bool starts(char prev, const std::string& prev_type, char tag, const std::string& type) {
  if (tag == 'O') return false;
  if (tag == 'B' || tag == 'S' || tag == '[' || tag == ']') return true;
  if (prev == 'O' || prev == 'E' || prev == 'S' || prev == '[' || prev == ']') return true;  // tag I or E
  return prev_type != type;
}

}  // namespace conlleval_detail

// The chunks of one sentence's tags, in order.
inline std::vector<Chunk> chunks(const std::vector<std::string>& tags) {
  using namespace conlleval_detail;
  std::vector<Chunk> out;
  char prev = 'O';
  std::string prev_type;
  bool open = false;
  for (std::size_t i = 0; i <= tags.size(); ++i) {
    auto [tag, type] = i < tags.size() ? split_tag(tags[i]) : std::pair<char, std::string>{'O', ""};
    if (open && ends(prev, prev_type, tag, type)) {
      out.back().end = i;
      open = false;
    }
    if (i < tags.size() && starts(prev, prev_type, tag, type)) {
      out.push_back({i, i, type});
      open = true;
    }
    prev = tag;
    prev_type = type;
  }
  return out;
}

// Whether a tag set looks like BIO / IOB: every tag is O or X-TYPE with X in B, I, E, S.
inline bool is_chunk_tagset(const std::vector<std::string>& tags) {
  bool any = false;
  for (const std::string& t : tags) {
    if (t == "O") continue;
    if (t.size() < 3 || t[1] != '-' || std::string("BIES").find(t[0]) == std::string::npos) return false;
    any = true;
  }
  return any;
}

struct ChunkCounts {
  std::size_t correct = 0, predicted = 0, gold = 0;

  void add(const std::vector<std::string>& gold_tags, const std::vector<std::string>& predicted_tags) {
    const std::vector<Chunk> g = chunks(gold_tags), p = chunks(predicted_tags);
    gold += g.size();
    predicted += p.size();
    std::size_t j = 0;  // both in order of begin: a merge
    for (const Chunk& c : p) {
      while (j < g.size() && g[j].begin < c.begin) ++j;
      if (j < g.size() && g[j] == c) ++correct;
    }
  }
  double precision() const { return predicted ? 100.0 * double(correct) / double(predicted) : 0.0; }
  double recall() const { return gold ? 100.0 * double(correct) / double(gold) : 0.0; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
};

}  // namespace tagger
