// data/subwords: the SentencePiece wrapper trains deterministically, round-trips text with
// capitals and accented letters, falls back to bytes for unseen characters, and saves and
// loads models (bad files are clear errors).
#define BOOST_TEST_MODULE subwords
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "data/subwords.hpp"

using namespace tapenet::data;

namespace {

// A small corpus with capitals and French, German and Czech letters.
std::vector<std::string> corpus() {
  const std::vector<std::string> base = {
      "Ça va très bien, merci.", "Où est la gare ?", "Je n'ai pas mangé aujourd'hui.",
      "Die Straße ist schön und grün.", "Wir fahren morgen nach München.", "Über den Fluss gehen wir.",
      "Příliš žluťoučký kůň úpěl ďábelské ódy.", "Děkuji, to je v pořádku.", "The cat sat on the mat.",
      "Tom and Mary went to Paris in June."};
  std::vector<std::string> out;
  for (int r = 0; r < 20; ++r)
    for (const auto& s : base) out.push_back(r % 2 ? s : "Hello " + std::to_string(r) + ": " + s);
  return out;
}

SubwordOptions options(SubwordKind kind, std::size_t vocab) {
  SubwordOptions o;
  o.kind = kind;
  o.vocab_size = vocab;
  return o;
}

std::string temp_path(const std::string& name) { return "test_subwords_" + name; }

}  // namespace

BOOST_AUTO_TEST_CASE(train_round_trips_text) {
  for (SubwordKind kind : {SubwordKind::Bpe, SubwordKind::Unigram}) {
    BOOST_TEST_CONTEXT(to_string(kind)) {
      const SubwordModel m = SubwordModel::train(corpus(), options(kind, 400));
      BOOST_TEST(m.size() <= 400u);
      BOOST_TEST(m.piece(0) == "<unk>");
      for (const std::string& s : {std::string("Ça va très bien, merci."), std::string("Příliš žluťoučký kůň."),
                                   std::string("Wir fahren nach Paris.")}) {
        const Tokens pieces = m.encode(s);
        BOOST_TEST(pieces.size() > 1u);
        BOOST_TEST(m.decode(pieces) == s);  // case and letters kept
        const std::vector<int> ids = m.encode_ids(s);
        BOOST_TEST(ids.size() == pieces.size());
        for (int id : ids) BOOST_TEST(id != 0);
        BOOST_TEST(m.decode_ids(ids) == s);
        BOOST_TEST(m.id(pieces[0]) == ids[0]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(training_is_deterministic) {
  for (SubwordKind kind : {SubwordKind::Bpe, SubwordKind::Unigram}) {
    const SubwordModel a = SubwordModel::train(corpus(), options(kind, 450));
    const SubwordModel b = SubwordModel::train(corpus(), options(kind, 450));
    BOOST_TEST(a.bytes() == b.bytes());
    BOOST_TEST(a.fingerprint() == b.fingerprint());
  }
  // Another vocabulary size is another model.
  BOOST_TEST(SubwordModel::train(corpus(), options(SubwordKind::Bpe, 450)).fingerprint() !=
             SubwordModel::train(corpus(), options(SubwordKind::Bpe, 500)).fingerprint());
}

BOOST_AUTO_TEST_CASE(unseen_characters_fall_back_to_bytes) {
  const SubwordModel m = SubwordModel::train(corpus(), options(SubwordKind::Bpe, 400));
  const std::string s = "Tom 漢字 ñ";  // none of these letters is in the training text
  const std::vector<int> ids = m.encode_ids(s);
  std::size_t bytes = 0;
  for (int id : ids) {
    BOOST_TEST(id != 0);  // no <unk>
    bytes += m.is_byte(id);
  }
  BOOST_TEST(bytes == 3u * 2 + 2u);  // two 3-byte CJK characters, one 2-byte ñ
  BOOST_TEST(m.decode_ids(ids) == s);
}

BOOST_AUTO_TEST_CASE(save_and_load) {
  const SubwordModel m = SubwordModel::train(corpus(), options(SubwordKind::Unigram, 450));
  const std::string path = temp_path("model.spm");
  m.save(path);
  const SubwordModel back = SubwordModel::load(path);
  BOOST_TEST(back.fingerprint() == m.fingerprint());
  BOOST_TEST(back.encode("Die Straße ist grün.") == m.encode("Die Straße ist grün."));
  BOOST_TEST(SubwordModel::from_bytes(m.bytes()).size() == m.size());
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(errors) {
  BOOST_CHECK_THROW(SubwordModel::load(temp_path("missing.spm")), SubwordError);
  const std::string bad = temp_path("bad.spm");
  std::ofstream(bad) << "not a model\n";
  BOOST_CHECK_THROW(SubwordModel::load(bad), SubwordError);
  std::remove(bad.c_str());
  BOOST_CHECK_THROW(SubwordModel::train({}, options(SubwordKind::Bpe, 100)), SubwordError);
  BOOST_CHECK_THROW(SubwordModel::train(corpus(), options(SubwordKind::Bpe, 8)), std::invalid_argument);
  SubwordOptions hard = options(SubwordKind::Unigram, 100000);
  hard.hard_vocab_limit = true;
  BOOST_CHECK_THROW(SubwordModel::train(corpus(), hard), SubwordError);
  BOOST_CHECK_THROW(parse_subword_kind("wordpiece"), std::invalid_argument);
  BOOST_TEST(to_string(parse_subword_kind("unigram")) == "unigram");
}
