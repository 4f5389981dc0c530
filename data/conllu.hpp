/// @file
/// CoNLL-U dependency treebanks (Universal Dependencies, universaldependencies.org/format.html).
///
/// A sentence is a block of lines ended by an empty line (the last one may end with the file):
/// comment lines start with '#', every other line has 10 tab-separated columns
/// ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC. Three kinds of ID:
/// @code{.unparsed}
///   "7"    a syntactic word: what is kept here, in ID order (IDs must run 1, 2, 3, ...);
///   "3-4"  a multiword token (English "don't" = do + n't): its range is checked (two or more
///          words of the sentence, starting at the next word, after the previous token's) and
///          kept in ConlluSentence::multiword, its other columns are ignored;
///   "8.1"  an empty node (enhanced dependencies): skipped — it is no word of the basic tree.
/// @endcode
/// HEAD is the parent's ID, 0 for the root; the basic dependency tree is checked to be a
/// tree (heads in range, no cycle, exactly one root unless ConlluOptions::single_root is off).
/// A trailing '\\r' (CRLF files) is dropped from every line.
///
/// Errors are ConlluError, a TreeParseError (data/tree.hpp): "file:line:column: message",
/// 1-based, the column in bytes, pointing at the offending field (for a cycle, the HEAD of
/// the first word on it; with no root, the first word's HEAD; for several roots, the second
/// root's HEAD).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tree.hpp"
#include "data/tree_structure.hpp"
#include "data/vocab.hpp"

namespace tapenet::data {

class ConlluError : public TreeParseError {
 public:
  using TreeParseError::TreeParseError;
};

struct ConlluWord {
  int id = 0;  ///< 1-based position in the sentence
  std::string form, lemma, upos, xpos, feats;
  int head = 0;  ///< the parent's id, 0 for the root
  std::string deprel;
  std::size_t line = 0;  ///< where it was read
};

/// A multiword token "first-last FORM ...": the surface token of the words first..last.
struct ConlluToken {
  int first = 0, last = 0;
  std::string form;
  std::size_t line = 0;  ///< where it was read
};

struct ConlluSentence {
  std::vector<std::string> comments;  ///< the comment lines, '#' included, in order
  std::vector<ConlluWord> words;      ///< the syntactic words, words[i].id == i + 1
  std::vector<ConlluToken> multiword;
  std::size_t line = 0;  ///< the sentence's first line

  std::size_t size() const { return words.size(); }
  /// The value of a "# key = value" comment ("sent_id", "text"), or "" when there is none.
  std::string comment(const std::string& key) const;
  std::vector<std::string> forms() const;
  /// Index (0-based) of the word with HEAD 0; the first of them if there are several.
  int root() const;
  /// The dependency tree as the Child-Sum Tree-LSTM consumes it: node i is words[i] (so row i
  /// of the inputs is word i), its children the words whose HEAD is i + 1, in sentence order;
  /// `order` bottom-up, root last. Several roots (single_root off) make a forest, roots in
  /// sentence order. Iterative: a chain of any length needs no call stack.
  TreeStructure tree() const;
};

struct ConlluOptions {
  /// Reject a sentence with several words of HEAD 0 (UD's rule: one root per sentence).
  bool single_root = true;

  ConlluOptions& with_single_root(bool on) { single_root = on; return *this; }
};

/// Every sentence of `text`; line numbers in errors count from 1. Throws ConlluError for a line
/// without 10 tab-separated columns, a non-numeric or malformed ID, IDs out of sequence, a
/// malformed multiword range (reversed, overlapping the previous token's, or ending past the
/// sentence's last word), a non-numeric HEAD, a HEAD out of range (above the sentence's
/// word count) or equal to the word's own ID, a cycle, no root, several roots (single_root),
/// a sentence with no words, and text that holds no sentence.
std::vector<ConlluSentence> parse_conllu(std::string_view text, const std::string& file = "<input>",
                                         const ConlluOptions& options = {});

/// parse_conllu of a file's contents; std::runtime_error when it cannot be read.
std::vector<ConlluSentence> read_conllu(const std::string& path, const ConlluOptions& options = {});

/// Counts the FORM of every word of every sentence, as written (for Vocab::build).
WordCounts count_forms(const std::vector<ConlluSentence>& sentences);

/// The vocabulary index of every word's FORM (unknown -> `<unk>` = 0), in word order: entry i
/// is the embedding row of node i of sentence.tree().
std::vector<std::int64_t> form_ids(const ConlluSentence& sentence, const Vocab& vocab);

}  // namespace tapenet::data
