// The forward convention of layers/ (layers/basic.hpp): forward(tape, inputs..., rng = nullptr),
// dropout only in training mode and only with a generator, and a module in training mode
// with a dropout rate > 0 and no generator throws std::invalid_argument naming the module.
#define BOOST_TEST_MODULE forward_convention
#include <boost/test/unit_test.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/basic.hpp"
#include "layers/cells.hpp"
#include "layers/generate.hpp"
#include "layers/language_model.hpp"
#include "layers/seq2seq.hpp"
#include "layers/sequence.hpp"
#include "testing.hpp"

using namespace tapenet;

namespace {

using Tn = Tensor<double>;
using Ids = std::vector<std::int64_t>;

CellFactory<double> lstm_cells(std::mt19937_64& rng) {
  return [&rng](std::size_t in, std::size_t h) { return std::make_unique<LSTMCell<double>>(in, h, rng); };
}

// True when f throws std::invalid_argument whose message starts with `module`.
template <class F>
bool throws_naming(const std::string& module, F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return std::string(e.what()).rfind(module + ":", 0) == 0;
  }
  return false;
}

Tn ones(std::size_t r, std::size_t c) { return full<double>({r, c}, 1.0); }

}  // namespace

BOOST_AUTO_TEST_CASE(dropout_module_draws_like_the_op_and_only_with_a_generator) {
  Dropout<double> drop(0.5);
  Tape<double> tape;
  Var<double> x = tape.constant(ones(4, 5));
  std::mt19937_64 a(7), b(7);
  const Tn module_mask = drop.forward(tape, x, &a).value();
  const Tn op_mask = dropout(x, 0.5, true, b).value();
  BOOST_TEST(testing::max_abs_diff(module_mask, op_mask) == 0.0);  // the same draws
  BOOST_TEST(testing::max_abs_diff(module_mask, ones(4, 5)) > 0.0);  // something dropped
  BOOST_TEST(throws_naming("Dropout", [&] { drop.forward(tape, x); }));
  drop.eval();
  std::mt19937_64 c(7), untouched(7);
  BOOST_TEST(testing::max_abs_diff(drop.forward(tape, x, &c).value(), ones(4, 5)) == 0.0);
  BOOST_TEST(c == untouched);  // eval mode draws nothing
  BOOST_TEST(testing::max_abs_diff(drop.forward(tape, x).value(), ones(4, 5)) == 0.0);
  BOOST_CHECK_THROW(Dropout<double>(1.0), std::invalid_argument);
  Dropout<double> none(0.0);
  BOOST_CHECK_NO_THROW(none.forward(tape, x));  // rate 0: no generator needed in training mode
}

BOOST_AUTO_TEST_CASE(stacked_rnn_needs_a_generator_only_for_dropout_in_training) {
  std::mt19937_64 rng(1);
  StackedRNN<double> rnn(3, 4, lstm_cells(rng), StackedOptions<double>().with_layers(2).with_dropout(0.5));
  Tape<double> tape;
  Var<double> x = tape.constant(ones(2 * 3, 3));
  BOOST_TEST(throws_naming("StackedRNN", [&] { rnn.forward(tape, x, 3); }));
  std::vector<RecurrentState<double>> states;
  BOOST_TEST(throws_naming("StackedRNN::step", [&] { rnn.step(tape, slice(x, 0, 0, 3), states); }));
  BOOST_CHECK_NO_THROW(rnn.forward(tape, x, 3, {}, {}, &rng));
  rnn.eval();
  BOOST_CHECK_NO_THROW(rnn.forward(tape, x, 3));
  // One layer has no connection between layers to drop: no generator needed.
  StackedRNN<double> single(3, 4, lstm_cells(rng), StackedOptions<double>().with_dropout(0.5));
  BOOST_CHECK_NO_THROW(single.forward(tape, x, 3));
}

BOOST_AUTO_TEST_CASE(decode_needs_a_generator_only_when_it_draws) {
  std::mt19937_64 rng(2);
  Embedding<double> embedding(5, 3, rng);
  LSTMCell<double> cell(3, 4, rng);
  Linear<double> readout(4, 5, rng);
  const DecoderStep<double> step = cell_decoder(cell, token_io(embedding, readout));
  const Ids start{1, 2}, gold{3, 4, 0, 1, 2, 3};
  Tape<double> tape;
  BOOST_CHECK_NO_THROW(decode(tape, step, {}, start, gold));  // teacher forcing
  BOOST_CHECK_NO_THROW(decode(tape, step, {}, start, gold, DecodeOptions().with_teacher_forcing(0.0)));
  BOOST_TEST(throws_naming("decode", [&] { decode(tape, step, {}, start, gold, DecodeOptions().with_teacher_forcing(0.5)); }));
  BOOST_TEST(throws_naming("decode", [&] {
    decode(tape, step, {}, start, gold, DecodeOptions().with_teacher_forcing(0.0).with_sampling());
  }));
  BOOST_CHECK_NO_THROW(decode(tape, step, {}, start, gold, DecodeOptions().with_teacher_forcing(0.5), &rng));
}

BOOST_AUTO_TEST_CASE(seq2seq_loss_and_search_follow_the_convention) {
  Seq2SeqOptions o;
  o.source_vocab = 6;
  o.target_vocab = 6;
  o.embedding = 3;
  o.hidden = 4;
  o.layers = 2;
  o.dropout = 0.3;
  std::mt19937_64 rng(3);
  Seq2Seq<double> model(o, rng);
  const SourceBatch source = make_source_batch({{4, 5, 3}, {2}}, 1);
  const Ids targets = {2, 4, 4, 3, 3, -100};
  const SearchOptions so = SearchOptions().with_max_length(4).with_beam(2);
  Tape<double> tape;
  BOOST_TEST(throws_naming("Seq2Seq", [&] { model.loss(tape, source, targets); }));
  BOOST_TEST(throws_naming("Seq2Seq", [&] { model.greedy(source, so); }));
  BOOST_TEST(throws_naming("Seq2Seq", [&] { model.beam(source, so); }));
  BOOST_TEST(throws_naming("Encoder", [&] { model.encoder().forward(tape, source); }));
  std::mt19937_64 a(5), b(5);
  const double first = model.loss(tape, source, targets, 1.0, &a).loss.item();
  BOOST_TEST(model.loss(tape, source, targets, 1.0, &b).loss.item() == first);  // the same draws
  model.eval();
  std::mt19937_64 c(5), untouched(5);
  const double eval_loss = model.loss(tape, source, targets, 1.0, &c).loss.item();
  BOOST_TEST(c == untouched);  // eval mode with teacher forcing draws nothing
  BOOST_TEST(model.loss(tape, source, targets).loss.item() == eval_loss);
  BOOST_TEST(model.greedy(source, so).size() == 2u);
  BOOST_TEST(model.beam(source, so).size() == 2u);
}

BOOST_AUTO_TEST_CASE(language_model_needs_a_generator_for_dropout_in_training) {
  std::mt19937_64 rng(4);
  RNNLanguageModel<double> model(LanguageModelOptions{7, 4, 5, 2}.with_dropout(0.5), lstm_cells(rng), rng);
  const Ids inputs{1, 2, 3, 4, 5, 6}, targets{2, 3, 4, 5, 6, 0};
  Tape<double> tape;
  std::vector<RecurrentState<double>> states;
  BOOST_TEST(throws_naming("RNNLanguageModel", [&] { model.forward(tape, inputs, 2); }));
  BOOST_TEST(throws_naming("RNNLanguageModel", [&] { model.loss(tape, inputs, targets, 2, states); }));
  BOOST_CHECK_NO_THROW(model.loss(tape, inputs, targets, 2, states, &rng));
  model.eval();
  states.clear();
  BOOST_CHECK_NO_THROW(model.loss(tape, inputs, targets, 2, states));
}
