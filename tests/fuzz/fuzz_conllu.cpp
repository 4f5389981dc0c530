// libFuzzer target: data::parse_conllu on a whole file, with one root per sentence required
// and not. Malformed text must throw ConlluError naming a line:column of the text; what is
// read must be a dependency tree (a forest when several roots are allowed) of words 1..n with
// multiword tokens inside the sentence, and allowing several roots may only accept more.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "data/conllu.hpp"
#include "data/tree_structure.hpp"
#include "data/vocab.hpp"
#include "fuzz_support.hpp"

using namespace tapenet::data;

namespace {

bool is_field(const std::string& s) { return s.find_first_of("\t\n") == std::string::npos; }

void check_words(const ConlluSentence& s) {
  std::size_t line = s.line;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const ConlluWord& w = s.words[i];
    if (w.id != static_cast<int>(i) + 1 || w.head < 0 || w.head > static_cast<int>(s.size()) || w.head == w.id)
      std::abort();
    if (w.line < line || !is_field(w.form) || !is_field(w.deprel)) std::abort();
    line = w.line + 1;
  }
}

// Multiword tokens in order, each over two or more words of the sentence, none overlapping.
void check_multiword(const ConlluSentence& s) {
  int covered = 0;  // the last word of the previous token
  for (const ConlluToken& t : s.multiword)
    if (t.first <= covered || t.last <= t.first || t.last > static_cast<int>(s.size())) std::abort();
    else covered = t.last;
}

void check_sentence(const ConlluSentence& s, bool single_root) {
  if (s.words.empty()) std::abort();
  check_words(s);
  check_multiword(s);
  for (const std::string& c : s.comments)
    if (c.empty() || c[0] != '#') std::abort();
  s.comment("text");
  const TreeStructure t = s.tree();
  check_structure(t, single_root);  // std::invalid_argument escapes: a crash
  const int root = s.root();
  if (root < 0 || s.words[root].head != 0 || (single_root && t.root() != root)) std::abort();
  if (t.depth() < 1 || t.depth() > static_cast<int>(s.size())) std::abort();
}

bool same_trees(const std::vector<ConlluSentence>& a, const std::vector<ConlluSentence>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].forms() != b[i].forms() || a[i].tree().children != b[i].tree().children) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tapenet::fuzz::text_of(data, size);
  const auto error_in_text = [&](const ConlluError& e) { tapenet::fuzz::check_error_place(e, text, "fuzz.conllu", 1); };
  std::vector<ConlluSentence> strict, forests;
  const bool one_root = tapenet::fuzz::reading<ConlluError>(
      [&] { strict = parse_conllu(text, "fuzz.conllu"); }, error_in_text);
  const bool any_roots = tapenet::fuzz::reading<ConlluError>(
      [&] { forests = parse_conllu(text, "fuzz.conllu", ConlluOptions().with_single_root(false)); }, error_in_text);
  if (one_root && !(any_roots && same_trees(strict, forests))) std::abort();
  if (!any_roots) return 0;
  std::size_t words = 0;
  for (const ConlluSentence& s : forests) {
    check_sentence(s, one_root);
    words += s.size();
  }
  const WordCounts counts = count_forms(forests);
  std::size_t counted = 0;
  for (const auto& [form, n] : counts) counted += n;
  if (counted != words) std::abort();
  // Every form is in a vocabulary built from the counts, so form_ids gives it back.
  const Vocab vocab = Vocab::build(counts);
  const ConlluSentence& first = forests.front();
  const std::vector<std::int64_t> ids = form_ids(first, vocab);
  for (std::size_t i = 0; i < first.size(); ++i)
    if (vocab.word(static_cast<int>(ids.at(i))) != first.words[i].form && ids[i] != Vocab::kUnkIndex) std::abort();
  return 0;
}
