// layers/cell_factory.hpp: names to kinds and back, the error for an unknown name, and that
// make_cell / cell_factory build the cell of each kind with its options.
#define BOOST_TEST_MODULE cell_factory
#include <boost/test/unit_test.hpp>

#include <random>
#include <stdexcept>
#include <string>

#include "layers/cell_factory.hpp"

using namespace tapenet;

BOOST_AUTO_TEST_CASE(names_round_trip) {
  for (CellKind kind : {CellKind::Elman, CellKind::LSTM, CellKind::GRU}) BOOST_TEST((parse_cell(cell_name(kind)) == kind));
  BOOST_TEST(std::string(cell_name(CellKind::Elman)) == "rnn");
  BOOST_TEST((parse_cell("elman") == CellKind::Elman));
}

BOOST_AUTO_TEST_CASE(an_unknown_name_throws_listing_the_valid_ones) {
  BOOST_CHECK_EXCEPTION(parse_cell("LSTM"), std::invalid_argument, [](const std::invalid_argument& e) {
    const std::string m = e.what();
    return m.find("'LSTM'") != std::string::npos && m.find("rnn, lstm or gru") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(make_cell_builds_each_kind_with_its_options) {
  std::mt19937_64 rng(1);
  const CellOptions options = CellOptions()
                                  .with_elman(ElmanOptions().with_activation(Activation::Relu))
                                  .with_lstm(LSTMOptions().with_peephole())
                                  .with_gru(GRUOptions().with_reset_after());
  auto elman = make_cell<float>(CellKind::Elman, 3, 4, rng, options);
  auto lstm = make_cell<float>(CellKind::LSTM, 3, 4, rng, options);
  auto gru = make_cell<double>(CellKind::GRU, 3, 4, rng, options);
  const auto* e = dynamic_cast<ElmanCell<float>*>(elman.get());
  const auto* l = dynamic_cast<LSTMCell<float>*>(lstm.get());
  const auto* g = dynamic_cast<GRUCell<double>*>(gru.get());
  BOOST_REQUIRE(e && l && g);
  BOOST_TEST((e->options().activation == Activation::Relu));
  BOOST_TEST(l->options().peephole);
  BOOST_TEST(g->options().reset_after);
  BOOST_TEST(lstm->input_size() == 3u);
  BOOST_TEST(lstm->hidden_size() == 4u);
  // Defaults: tanh Elman, plain LSTM with unit forget bias, GRU resetting before.
  auto plain = make_cell<float>(CellKind::LSTM, 3, 4, rng);
  BOOST_TEST(!dynamic_cast<LSTMCell<float>&>(*plain).options().peephole);
  BOOST_TEST(dynamic_cast<LSTMCell<float>&>(*plain).options().unit_forget_bias);
  BOOST_TEST(!dynamic_cast<GRUCell<float>&>(*make_cell<float>(CellKind::GRU, 3, 4, rng)).options().reset_after);
}

// The factory draws from the caller's generator: the same seed gives the same weights as
// constructing the cell directly.
BOOST_AUTO_TEST_CASE(cell_factory_draws_like_direct_construction) {
  std::mt19937_64 a(7), b(7);
  StackedRNN<float> stacked(3, 4, cell_factory<float>(CellKind::GRU, a), StackedOptions<float>().with_layers(2));
  GRUCell<float> l0(3, 4, b), l1(4, 4, b);
  const auto& first = dynamic_cast<const GRUCell<float>&>(stacked.cell(0));
  const auto& second = dynamic_cast<const GRUCell<float>&>(stacked.cell(1));
  BOOST_TEST((first.W_ih.value == l0.W_ih.value));
  BOOST_TEST((second.W_hh.value == l1.W_hh.value));
}
