#include "synthetic.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <unordered_set>
#include <utility>

namespace sentiment {

namespace {

using tapenet::data::Tree;

// A labelled phrase as PTB brackets, built bottom-up; parse_tree turns it into a Tree.
struct Phrase {
  std::string ptb;
  int score;  // -2..2; the label is score + 2
};

int sign(int s) { return (s > 0) - (s < 0); }
int clamp2(int s) { return std::max(-2, std::min(2, s)); }

Phrase leaf(const std::string& word, int score = 0) { return {"(" + std::to_string(score + 2) + " " + word + ")", score}; }
Phrase node(const Phrase& a, const Phrase& b, int score) {
  return {"(" + std::to_string(score + 2) + " " + a.ptb + " " + b.ptb + ")", score};
}

struct Adjective {
  const char* word;
  int score;
};

const std::vector<Adjective> kAdjectives = {
    {"good", 1},      {"fun", 1},       {"charming", 1},  {"solid", 1},    {"pleasant", 1}, {"clever", 1},
    {"great", 2},     {"wonderful", 2}, {"brilliant", 2}, {"superb", 2},   {"excellent", 2}, {"moving", 2},
    {"bad", -1},      {"dull", -1},     {"weak", -1},     {"silly", -1},   {"messy", -1},   {"slow", -1},
    {"awful", -2},    {"terrible", -2}, {"dreadful", -2}, {"horrible", -2}, {"painful", -2}, {"lame", -2},
    {"long", 0},      {"short", 0},     {"french", 0},    {"new", 0},      {"loud", 0},     {"quiet", 0},
};
const std::vector<const char*> kNouns = {"plot",   "music", "acting",   "story",    "cast",     "script",
                                         "film",   "ending", "dialogue", "soundtrack", "director", "pacing"};
const std::vector<const char*> kDeterminers = {"the", "this"};
const std::vector<const char*> kVerbs = {"is", "was", "seems"};
const std::vector<const char*> kIntensifiers = {"very", "really", "truly"};
const std::vector<const char*> kHedges = {"somewhat", "fairly"};

// Modifier chain of an adjective phrase, applied innermost first.
enum class Modifier { None, Very, Somewhat, Not, NotVery };

// very: sign(s)·2    somewhat: sign(s)·1    not: -sign(s)·1
Phrase adjective_phrase(const Adjective& adj, Modifier m, const char* intensifier, const char* hedge) {
  Phrase a = leaf(adj.word, adj.score);
  switch (m) {
    case Modifier::None: return a;
    case Modifier::Very: return node(leaf(intensifier), a, sign(a.score) * 2);
    case Modifier::Somewhat: return node(leaf(hedge), a, sign(a.score));
    case Modifier::Not: return node(leaf("not"), a, -sign(a.score));
    case Modifier::NotVery: {
      Phrase v = node(leaf(intensifier), a, sign(a.score) * 2);
      return node(leaf("not"), v, -sign(v.score));
    }
  }
  throw std::logic_error("adjective_phrase");
}

// ((det noun) (verb ADJP)): the clause takes the predicate's score.
Phrase clause(const char* det, const char* noun, const char* verb, const Phrase& adjp) {
  Phrase np = node(leaf(det), leaf(noun), 0);
  Phrase vp = node(leaf(verb), adjp, adjp.score);
  return node(np, vp, vp.score);
}

// C1 but C2: contrast, the second clause decides. C1 and C2: both count.
Phrase but_pair(const Phrase& c1, const Phrase& c2) { return node(c1, node(leaf("but"), c2, c2.score), c2.score); }
Phrase and_pair(const Phrase& c1, const Phrase& c2) {
  return node(c1, node(leaf("and"), c2, c2.score), clamp2(c1.score + c2.score));
}
Phrase sentence(const Phrase& body) { return node(body, leaf("."), body.score); }

template <class V>
const auto& pick(const V& v, std::mt19937_64& rng) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

Phrase random_clause(std::mt19937_64& rng) {
  static const std::vector<std::pair<Modifier, int>> kModifiers = {
      {Modifier::None, 35}, {Modifier::Very, 15}, {Modifier::Somewhat, 10}, {Modifier::Not, 28}, {Modifier::NotVery, 12}};
  std::vector<int> weights;
  for (const auto& m : kModifiers) weights.push_back(m.second);
  const Modifier m = kModifiers[std::discrete_distribution<std::size_t>(weights.begin(), weights.end())(rng)].first;
  const Adjective& adj = pick(kAdjectives, rng);
  Phrase adjp = adjective_phrase(adj, m, pick(kIntensifiers, rng), pick(kHedges, rng));
  return clause(pick(kDeterminers, rng), pick(kNouns, rng), pick(kVerbs, rng), adjp);
}

Phrase random_sentence(std::mt19937_64& rng) {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  Phrase c1 = random_clause(rng);
  if (u < 0.4) return sentence(c1);
  Phrase c2 = random_clause(rng);
  return sentence(u < 0.7 ? but_pair(c1, c2) : and_pair(c1, c2));
}

}  // namespace

SyntheticTreebank make_synthetic_treebank(std::size_t train, std::size_t dev, std::size_t test, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::unordered_set<std::string> seen;  // distinct sentences across all splits
  auto fill = [&](std::vector<Tree>& split, std::size_t count) {
    for (std::size_t attempts = 0; split.size() < count; ++attempts) {
      if (attempts > 100 * count + 1000) throw std::runtime_error("synthetic treebank: not enough distinct sentences");
      Phrase s = random_sentence(rng);
      if (!seen.insert(s.ptb).second) continue;
      split.push_back(tapenet::data::parse_tree(s.ptb, "<synthetic>", split.size() + 1));
    }
  };
  SyntheticTreebank bank;
  fill(bank.train, train);
  fill(bank.dev, dev);
  fill(bank.test, test);
  return bank;
}

std::vector<Tree> synthetic_probes() {
  auto adj = [](const char* word) {
    for (const Adjective& a : kAdjectives)
      if (std::string(a.word) == word) return a;
    throw std::logic_error("synthetic_probes: unknown adjective");
  };
  auto c = [&](const char* noun, Modifier m, const char* a) {
    return clause("the", noun, "is", adjective_phrase(adj(a), m, "very", "somewhat"));
  };
  const std::vector<Phrase> probes = {
      sentence(c("plot", Modifier::None, "good")),
      sentence(c("plot", Modifier::Not, "good")),
      sentence(c("plot", Modifier::Not, "bad")),
      sentence(c("acting", Modifier::Very, "bad")),
      sentence(c("acting", Modifier::NotVery, "good")),
      sentence(but_pair(c("plot", Modifier::None, "bad"), c("music", Modifier::None, "good"))),
      sentence(but_pair(c("plot", Modifier::None, "good"), c("music", Modifier::None, "bad"))),
      sentence(but_pair(c("plot", Modifier::Not, "good"), c("music", Modifier::Very, "good"))),
      sentence(and_pair(c("plot", Modifier::None, "great"), c("ending", Modifier::Not, "bad"))),
  };
  std::vector<Tree> trees;
  for (const Phrase& p : probes) trees.push_back(tapenet::data::parse_tree(p.ptb, "<probe>", trees.size() + 1));
  return trees;
}

}  // namespace sentiment
