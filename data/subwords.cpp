#include "data/subwords.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include "io/atomic_file.hpp"

namespace tapenet::data {

namespace {

// The training sentences, handed to SentencePiece one by one (no temporary file).
class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return i_ >= sentences_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return sentences_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& sentences_;
  std::size_t i_ = 0;
};

void check(const sentencepiece::util::Status& status, const std::string& what) {
  if (!status.ok()) throw SubwordError(what + ": " + status.ToString());
}

}  // namespace

SubwordKind parse_subword_kind(const std::string& name) {
  if (name == "bpe") return SubwordKind::Bpe;
  if (name == "unigram") return SubwordKind::Unigram;
  throw std::invalid_argument("subword model '" + name + "': expected bpe or unigram");
}

std::string to_string(SubwordKind kind) { return kind == SubwordKind::Bpe ? "bpe" : "unigram"; }

SubwordModel SubwordModel::train(const std::vector<std::string>& sentences, const SubwordOptions& o) {
  if (o.vocab_size < 16) throw std::invalid_argument("subword vocabulary of " + std::to_string(o.vocab_size) + ": at least 16");
  if (sentences.empty()) throw SubwordError("subword training: no sentences");
  const std::unordered_map<std::string, std::string> spec = {
      {"model_type", to_string(o.kind)},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"hard_vocab_limit", o.hard_vocab_limit ? "true" : "false"},
      {"byte_fallback", o.byte_fallback ? "true" : "false"},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"max_sentence_length", std::to_string(o.max_sentence_length)},
      {"num_threads", "1"},              // deterministic
      {"input_sentence_size", "0"},      // every sentence, no sampling
      {"shuffle_input_sentence", "false"},
      {"unk_id", "0"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_id", "-1"},
      {"minloglevel", "2"},              // no progress log on stderr
  };
  VectorIterator it(sentences);
  std::string bytes;
  check(sentencepiece::SentencePieceTrainer::Train(spec, &it, &bytes), "subword training");
  return from_bytes(std::move(bytes), "trained subword model");
}

SubwordModel SubwordModel::from_bytes(std::string bytes, const std::string& what) {
  SubwordModel m;
  m.processor_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  check(m.processor_->LoadFromSerializedProto(bytes), what + ": not a SentencePiece model");
  m.bytes_ = std::move(bytes);
  return m;
}

SubwordModel SubwordModel::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SubwordError("cannot open subword model " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return from_bytes(std::move(bytes), path);
}

void SubwordModel::save(const std::string& path) const {
  AtomicFile f(path);
  f.write(bytes_);
  f.commit();
}

Tokens SubwordModel::encode(std::string_view text) const {
  Tokens pieces;
  check(processor_->Encode(text, &pieces), "subword encode");
  return pieces;
}

std::vector<int> SubwordModel::encode_ids(std::string_view text) const {
  std::vector<int> ids;
  check(processor_->Encode(text, &ids), "subword encode");
  return ids;
}

std::string SubwordModel::decode(const Tokens& pieces) const {
  std::string text;
  check(processor_->Decode(pieces, &text), "subword decode");
  return text;
}

std::string SubwordModel::decode_ids(const std::vector<int>& ids) const {
  std::string text;
  check(processor_->Decode(ids, &text), "subword decode");
  return text;
}

std::size_t SubwordModel::size() const { return std::size_t(processor_->GetPieceSize()); }
const std::string& SubwordModel::piece(int id) const {
  if (id < 0 || std::size_t(id) >= size()) throw std::out_of_range("subword id " + std::to_string(id));
  return processor_->IdToPiece(id);
}
int SubwordModel::id(const std::string& piece) const { return processor_->PieceToId(piece); }
bool SubwordModel::is_byte(int id) const { return processor_->IsByte(id); }

std::uint64_t SubwordModel::fingerprint() const {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes_) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace tapenet::data
