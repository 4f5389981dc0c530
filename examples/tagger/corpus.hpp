// The tagger's data: sentences of (word, tag) pairs read from CoNLL-U treebanks (the UPOS
// or XPOS column, through data/conllu.hpp: multiword-token lines and empty nodes are the
// reader's business) or from two-column CoNLL files (word TAB tag, a blank line between
// sentences, as the CoNLL-2003 NER data reduced to its first and last column), or the
// built-in synthetic corpus when no path is given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tagger {

struct Sentence {
  std::vector<std::string> words, tags;
  std::size_t size() const { return words.size(); }
};

enum class Format { Conllu, Columns };

// The format of `path`: "conllu" or "columns" as given, or for "auto" by the file name
// (*.conllu -> CoNLL-U, anything else two-column).
Format file_format(const std::string& path, const std::string& given);

// CoNLL-U: every sentence's syntactic words with their `column` ("upos" or "xpos").
// Errors are data::ConlluError, "file:line:column: message".
std::vector<Sentence> read_conllu_tags(const std::string& path, const std::string& column);

// Two columns: "word<TAB>tag" per line (or word and tag separated by spaces: the first and
// the last field of the line), a blank line between sentences; lines starting with
// "-DOCSTART-" are skipped. std::invalid_argument "file:line: message" for a line without
// two fields; std::runtime_error when the file cannot be read or holds no sentence.
std::vector<Sentence> parse_columns(const std::string& text, const std::string& file);
std::vector<Sentence> read_columns(const std::string& path);

std::vector<Sentence> read_tagged(const std::string& path, Format format, const std::string& column);

// The synthetic corpus: an NER-like language with BIO tags. Person names (made-up,
// capitalised) follow "mr" or "dr" or precede "said", places end in -ton / -burg / -ville
// and follow "in", "to" or "from"; the ambiguous "may" is a name after "mr" and a verb
// (O) elsewhere. Dev and test draw fresh names, so only the character features can tag the
// unseen ones. n sentences; seed makes it.
std::vector<Sentence> synthetic_corpus(std::size_t n, std::uint64_t seed);

// The tags of a training set, sorted; the index of a tag is its class.
std::vector<std::string> tag_set(const std::vector<Sentence>& train);

}  // namespace tagger
