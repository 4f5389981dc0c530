#include "corpus.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "data/conllu.hpp"

namespace tagger {

using namespace tapenet;

Format file_format(const std::string& path, const std::string& given) {
  if (given == "conllu") return Format::Conllu;
  if (given == "columns") return Format::Columns;
  if (given != "auto") throw std::invalid_argument("--format must be auto, conllu or columns, got '" + given + "'");
  const std::string ext = ".conllu";
  const bool conllu = path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  return conllu ? Format::Conllu : Format::Columns;
}

std::vector<Sentence> read_conllu_tags(const std::string& path, const std::string& column) {
  const bool upos = column == "upos";
  if (!upos && column != "xpos") throw std::invalid_argument("--column must be upos or xpos, got '" + column + "'");
  std::vector<Sentence> out;
  for (const data::ConlluSentence& s : data::read_conllu(path, data::ConlluOptions().with_single_root(false))) {
    Sentence t;
    for (const data::ConlluWord& w : s.words) {
      const std::string& tag = upos ? w.upos : w.xpos;
      if (tag.empty() || tag == "_")
        throw std::invalid_argument(path + ":" + std::to_string(w.line) + ": the word '" + w.form + "' has no " +
                                    column + " tag");
      t.words.push_back(w.form);
      t.tags.push_back(tag);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Sentence> parse_columns(const std::string& text, const std::string& file) {
  std::vector<Sentence> out;
  Sentence current;
  std::istringstream in(text);
  std::string line;
  auto flush = [&] {
    if (!current.words.empty()) out.push_back(std::move(current));
    current = Sentence();
  };
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      flush();
      continue;
    }
    if (line.rfind("-DOCSTART-", 0) == 0) continue;
    std::vector<std::string> fields;
    if (line.find('\t') != std::string::npos) {
      std::istringstream f(line);
      for (std::string field; std::getline(f, field, '\t');) fields.push_back(field);
    } else {
      std::istringstream f(line);
      for (std::string field; f >> field;) fields.push_back(field);
    }
    if (fields.size() < 2 || fields.front().empty() || fields.back().empty())
      throw std::invalid_argument(file + ":" + std::to_string(n) + ": expected 'word<TAB>tag', got '" + line + "'");
    current.words.push_back(fields.front());
    current.tags.push_back(fields.back());
  }
  flush();
  if (out.empty()) throw std::runtime_error(file + ": no sentence");
  return out;
}

std::vector<Sentence> read_columns(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_columns(text.str(), path);
}

std::vector<Sentence> read_tagged(const std::string& path, Format format, const std::string& column) {
  return format == Format::Conllu ? read_conllu_tags(path, column) : read_columns(path);
}

std::vector<Sentence> synthetic_corpus(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](const std::vector<std::string>& v) { return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)]; };
  auto coin = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const std::vector<std::string> syllables = {"ka", "lo", "mi", "ra", "ten", "vo", "shi", "du", "pel", "an", "ber", "zo"};
  auto name = [&](bool capital) {
    std::string w;
    const int k = 2 + int(rng() % 2);
    for (int i = 0; i < k; ++i) w += pick(syllables);
    if (capital) w[0] = char(w[0] - 'a' + 'A');
    return w;
  };
  const std::vector<std::string> suffixes = {"ton", "burg", "ville"};
  const std::vector<std::string> fillers = {"the", "a", "man", "woman", "went", "saw", "today", "and", "then",
                                            "old", "city", "house", "came", "back", "quickly", "may", "rain"};
  std::vector<Sentence> out;
  for (std::size_t s = 0; s < n; ++s) {
    Sentence t;
    auto add = [&](const std::string& w, const std::string& tag) {
      t.words.push_back(w);
      t.tags.push_back(tag);
    };
    const int parts = 2 + int(rng() % 3);
    for (int p = 0; p < parts; ++p) {
      const int kind = int(rng() % 4);
      if (kind == 0) {  // a person after a title
        add(coin(0.5) ? "mr" : "dr", "O");
        if (coin(0.2)) add("May", "B-PER");
        else add(name(true), "B-PER");
        if (coin(0.4)) add(name(true), "I-PER");
      } else if (kind == 1) {  // a person before "said"
        add(name(true), "B-PER");
        add("said", "O");
      } else if (kind == 2) {  // a place after a preposition
        add(pick({"in", "to", "from"}), "O");
        std::string place = name(true) + pick(suffixes);
        add(place, "B-LOC");
        if (coin(0.2)) add("City", "I-LOC");
      } else {
        const int k = 1 + int(rng() % 3);
        for (int i = 0; i < k; ++i) add(pick(fillers), "O");
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> tag_set(const std::vector<Sentence>& train) {
  std::set<std::string> tags;
  for (const Sentence& s : train) tags.insert(s.tags.begin(), s.tags.end());
  return {tags.begin(), tags.end()};
}

}  // namespace tagger
