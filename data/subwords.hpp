/// @file
/// Subword units for translation: a thin wrapper over SentencePiece (Kudo and Richardson 2018;
/// the Debian library libsentencepiece), byte-pair encoding (Sennrich et al. 2016) or the
/// unigram language model (Kudo 2018).
///
/// @code
///   SubwordModel m = SubwordModel::train(training_sentences, {SubwordKind::Bpe, 8000});
///   m.save("model.spm");                         // atomic (io/atomic_file.hpp)
///   Tokens pieces = m.encode("Ça va très bien.");  // {"▁Ça", "▁va", "▁très", "▁bien", "."}
///   std::string text = m.decode(pieces);          // "Ça va très bien."
/// @endcode
///
/// Training is a pure function of (sentences, options): one thread, every sentence used (no
/// sampling), so the same input gives the same model bytes. The model knows one special
/// piece, `<unk>` (id 0; no `<s>`, `</s>` or `<pad>`: the caller's vocabulary adds its own), and with
/// byte_fallback a character unseen in training is spelt as its UTF-8 bytes (<0xC3> ...), so
/// nothing becomes `<unk>`. SentencePiece normalises text with NFKC (so U+00A0 and U+202F
/// become plain spaces) and collapses runs of spaces; decode gives that normalised text.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "data/text.hpp"  // Tokens

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace tapenet::data {

/// A SentencePiece failure (training, a bad model file); the message names what failed.
class SubwordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class SubwordKind { Bpe, Unigram };

/// "bpe" or "unigram"; throws std::invalid_argument otherwise.
SubwordKind parse_subword_kind(const std::string& name);
std::string to_string(SubwordKind kind);

struct SubwordOptions {
  SubwordKind kind = SubwordKind::Bpe;
  std::size_t vocab_size = 8000;     ///< pieces, `<unk>` and the byte pieces included
  /// false: a corpus too small for vocab_size gets fewer pieces instead of an error.
  bool hard_vocab_limit = false;
  bool byte_fallback = true;         ///< unseen characters as bytes instead of `<unk>`
  double character_coverage = 1.0;   ///< of the training characters kept as pieces
  std::size_t max_sentence_length = 16384;  ///< bytes; longer training sentences are skipped
};

class SubwordModel {
 public:
  /// Throws SubwordError when SentencePiece fails (e.g. no sentences, a vocabulary too large
  /// with hard_vocab_limit) and std::invalid_argument for a vocabulary smaller than 16.
  static SubwordModel train(const std::vector<std::string>& sentences, const SubwordOptions& options);
  /// A model from its serialised ModelProto (what bytes() returns); throws SubwordError.
  static SubwordModel from_bytes(std::string bytes, const std::string& what = "subword model");
  static SubwordModel load(const std::string& path);  ///< throws SubwordError naming the file
  void save(const std::string& path) const;           ///< all or nothing

  Tokens encode(std::string_view text) const;      ///< pieces
  std::vector<int> encode_ids(std::string_view text) const;
  std::string decode(const Tokens& pieces) const;  ///< unknown pieces decode as nothing
  std::string decode_ids(const std::vector<int>& ids) const;

  std::size_t size() const;           ///< pieces, id order 0 .. size()-1
  const std::string& piece(int id) const;
  int id(const std::string& piece) const;  ///< 0 (`<unk>`) when unknown
  bool is_byte(int id) const;         ///< a byte-fallback piece <0x..>
  const std::string& bytes() const { return bytes_; }
  /// FNV-1a of bytes(): tells whether two models are the same.
  std::uint64_t fingerprint() const;

 private:
  SubwordModel() = default;
  std::shared_ptr<sentencepiece::SentencePieceProcessor> processor_;  // shared: copies are read-only
  std::string bytes_;
};

}  // namespace tapenet::data
