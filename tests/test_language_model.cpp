// RNNLanguageModel (layers/language_model.hpp), the token lanes of truncated BPTT
// (data/token_lanes.hpp) and the word-level corpus reader (data/lm_corpus.hpp).
#define BOOST_TEST_MODULE language_model
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "autograd/gradcheck.hpp"
#include "data/lm_corpus.hpp"
#include "data/token_lanes.hpp"
#include "layers/cells.hpp"
#include "layers/language_model.hpp"
#include "testing.hpp"

using namespace tapenet;

namespace {

constexpr std::size_t kVocab = 7, kT = 3, kB = 2;

template <class T>
CellFactory<T> lstm_cells(std::mt19937_64& rng) {
  return [&rng](std::size_t in, std::size_t h) { return std::make_unique<LSTMCell<T>>(in, h, rng); };
}

std::vector<std::int64_t> ids(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = std::int64_t(rng() % kVocab);
  return v;
}

// The loss of one chunk from a given carried state, as a function of the parameters.
void check_gradients(const LanguageModelOptions& o, const std::string& what) {
  std::mt19937_64 rng(3);
  RNNLanguageModel<double> model(o, lstm_cells<double>(rng), rng);
  testing::randomise(model, 11, 0.4);
  const auto inputs = ids(kT * kB, 5), targets = ids(kT * kB, 6);
  const Tensor<double> h0 = init::normal<double>({kB, o.hidden}, 0.5, rng);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>&) {
    std::mt19937_64 masks(17);  // the same dropout masks at every evaluation
    std::vector<RecurrentState<double>> states;
    for (std::size_t l = 0; l < o.layers; ++l) states.push_back({tape.constant(h0), tape.constant(h0)});
    return model.loss(tape, inputs, targets, kB, states, &masks);
  };
  GradcheckResult r = gradcheck(f, {}, model.parameters());
  BOOST_TEST(r.ok, what << ": " << r.message());
  BOOST_TEST(r.checked > 100u);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / ("tapenet_test_language_model_" + name)).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

bool message_has(const std::exception& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gradcheck_two_layers_with_dropout) {
  check_gradients(LanguageModelOptions{kVocab, 4, 5, 2}.with_dropout(0.3), "dropout");
}

BOOST_AUTO_TEST_CASE(gradcheck_variational_dropout) {
  check_gradients(LanguageModelOptions{kVocab, 4, 5, 2}.with_dropout(0.3, true), "variational");
}

BOOST_AUTO_TEST_CASE(gradcheck_dropout_without_the_embeddings_output) {  // char-rnn's choice
  check_gradients(LanguageModelOptions{kVocab, 4, 5, 2}.with_dropout(0.3).with_embedding_dropout(false), "no embedding dropout");
}

BOOST_AUTO_TEST_CASE(gradcheck_tied_embedding_and_readout) {
  // The table gets both the lookup's sparse rows and the readout's dense product.
  check_gradients(LanguageModelOptions{kVocab, 5, 5, 1}.with_tied_weights(), "tied");
}

BOOST_AUTO_TEST_CASE(tied_weights_share_the_table_and_need_equal_sizes) {
  std::mt19937_64 rng(1);
  RNNLanguageModel<float> tied(LanguageModelOptions{kVocab, 5, 5, 1}.with_tied_weights(), lstm_cells<float>(rng), rng);
  RNNLanguageModel<float> untied(LanguageModelOptions{kVocab, 5, 5, 1}, lstm_cells<float>(rng), rng);
  BOOST_TEST(untied.parameter_count() - tied.parameter_count() == kVocab * 5);
  BOOST_CHECK_THROW(RNNLanguageModel<float>(LanguageModelOptions{kVocab, 4, 5, 1}.with_tied_weights(),
                                            lstm_cells<float>(rng), rng),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(init_scale_draws_every_parameter_uniformly) {
  std::mt19937_64 rng(1);
  RNNLanguageModel<float> model(LanguageModelOptions{kVocab, 4, 5, 2}.with_init_scale(0.1), lstm_cells<float>(rng), rng);
  for (auto* p : model.parameters()) {
    float lo = 1, hi = -1;
    for (float v : p->value) lo = std::min(lo, v), hi = std::max(hi, v);
    BOOST_TEST(lo >= -0.1f);
    BOOST_TEST(hi <= 0.1f);
    BOOST_TEST(hi - lo > 0.05f, p->name << " is not drawn");  // biases too
  }
}

BOOST_AUTO_TEST_CASE(dropout_masks_come_from_the_given_generator_in_training_mode_only) {
  for (bool variational : {true, false}) {
    std::mt19937_64 rng(2);
    RNNLanguageModel<float> model(LanguageModelOptions{kVocab, 8, 4, 2}.with_dropout(0.5, variational),
                                  lstm_cells<float>(rng), rng);
    const auto in = ids(kT * kB, 1);
    auto logits = [&](std::uint64_t seed) {
      Tape<float> tape;
      std::mt19937_64 masks(seed);
      return Tensor<float>(model.forward(tape, in, kB, {}, &masks).logits.value());
    };
    BOOST_TEST(testing::max_abs_diff(logits(9), logits(9)) == 0.0);  // reproducible
    BOOST_TEST(testing::max_abs_diff(logits(9), logits(10)) > 0.0);  // drawn
    model.eval();
    BOOST_TEST(testing::max_abs_diff(logits(9), logits(10)) == 0.0);  // off in eval mode
  }
}

BOOST_AUTO_TEST_CASE(evaluate_stream_matches_the_chunked_losses_and_restores_the_mode) {
  std::mt19937_64 rng(4);
  RNNLanguageModel<double> model(LanguageModelOptions{kVocab, 4, 5, 1}.with_dropout(0.5), lstm_cells<double>(rng), rng);
  const auto stream = ids(41, 8);
  StreamEvaluation whole = evaluate_stream(model, stream, 2, 5);
  BOOST_TEST(model.training());
  BOOST_TEST(whole.tokens == 40u);  // 2 lanes of 20 targets
  // One lane of all 40 targets gives another number (different state carry), but the
  // same model evaluated twice is deterministic (no dropout in eval mode).
  BOOST_TEST(evaluate_stream(model, stream, 2, 5).nats == whole.nats);
  BOOST_TEST(whole.perplexity() == std::exp(whole.nats));
  BOOST_TEST(whole.nats > 0);
}

BOOST_AUTO_TEST_CASE(lanes_continue_each_lane_across_chunks) {
  std::vector<std::int64_t> s(21);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = std::int64_t(i);
  data::TokenLanes lanes(s, 2, 4);  // lanes of 10: [0..10], [10..20]
  BOOST_TEST(lanes.lane_length() == 10u);
  BOOST_TEST(lanes.chunks() == 3u);
  BOOST_TEST(lanes.full_chunks() == 2u);
  std::vector<std::int64_t> in, out;
  BOOST_TEST(lanes.chunk(1, in, out) == 4u);
  BOOST_TEST(in[0] == 4);   // lane 0, position 4
  BOOST_TEST(in[1] == 14);  // lane 1, position 4
  BOOST_TEST(out[0] == 5);
  BOOST_TEST(lanes.chunk(2, in, out) == 2u);  // the short last chunk
  BOOST_CHECK_THROW(lanes.chunk(3, in, out), std::out_of_range);
  BOOST_CHECK_THROW(data::TokenLanes(s, 30, 4), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(word_corpus_numbers_words_by_first_occurrence_and_appends_eos) {
  const std::string train = write_temp("train.txt", " the cat sat \n the dog <unk> \n");
  data::WordVocabulary vocab;
  data::WordStream s = data::read_training_words(train, {}, vocab);
  BOOST_TEST(vocab.size() == 6u);  // the cat sat <eos> dog <unk>
  BOOST_TEST(vocab.word(3) == "<eos>");
  BOOST_TEST(s.ids == (std::vector<std::int64_t>{0, 1, 2, 3, 0, 4, 5, 3}), boost::test_tools::per_element());
  BOOST_TEST(*vocab.unk() == 5);
  BOOST_TEST(s.lines == 2u);
  const std::string valid = write_temp("valid.txt", "the bird sat\n");
  data::WordStream v = data::read_words(valid, {}, vocab);
  BOOST_TEST(v.ids == (std::vector<std::int64_t>{0, 5, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(v.unknown == 1u);
  const auto back = data::WordVocabulary::from_text(vocab.to_text(), "<unk>");
  BOOST_TEST(back.words() == vocab.words(), boost::test_tools::per_element());
  BOOST_TEST(*back.unk() == 5);
}

BOOST_AUTO_TEST_CASE(word_corpus_errors_name_the_file_line_and_column) {
  data::WordVocabulary vocab;
  const std::string train = write_temp("train2.txt", "a b\nc\n");
  data::read_training_words(train, {}, vocab);
  const std::string valid = write_temp("valid2.txt", "a b\nc  zebra\n");
  BOOST_CHECK_EXCEPTION(data::read_words(valid, {}, vocab), data::CorpusError, [&](const auto& e) {
    return message_has(e, valid + ":2:4: 'zebra' is not in the training vocabulary");
  });
  data::WordVocabulary v2;
  BOOST_CHECK_EXCEPTION(data::read_training_words(write_temp("empty.txt", "\n \n"), {}, v2), data::CorpusError,
                        [](const auto& e) { return message_has(e, "holds no token"); });
  data::WordVocabulary v3;
  data::WordCorpusOptions small;
  small.max_vocab = 2;
  BOOST_CHECK_EXCEPTION(data::read_training_words(train, small, v3), data::CorpusError,
                        [&](const auto& e) { return message_has(e, train + ":2:1: the vocabulary exceeds --max-vocab 2"); });
  data::WordVocabulary v4;
  BOOST_CHECK_EXCEPTION(data::read_training_words(write_temp("bad.txt", "ok caf\xC3\n"), {}, v4), data::CorpusError,
                        [](const auto& e) { return message_has(e, ":1:7: invalid UTF-8"); });
  data::WordVocabulary v5;
  BOOST_CHECK_THROW(data::read_training_words("no/such/file.txt", {}, v5), data::CorpusError);
}
