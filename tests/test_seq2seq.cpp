// Seq2seq: gradcheck of the attention modules with padded sources (masked weights exactly 0,
// masked memory rows get exactly 0 gradient), gradcheck of tiny encoder–decoder losses in
// several configurations, beam search with k = 1 against greedy search, and beam search on
// a hand-built decoder whose probabilities are known (where greedy search fails).
#define BOOST_TEST_MODULE seq2seq
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "layers/attention.hpp"
#include "layers/seq2seq.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using tapenet::testing::randomise;

namespace {

constexpr std::size_t kB = 3, kS = 4;
const std::vector<std::size_t> kLengths = {4, 2, 1};

void check_attention(AttentionKind kind, std::size_t Hq, std::size_t Hk) {
  std::mt19937_64 rng(7);
  Attention<double> attn(kind, Hq, Hk, rng, 4);
  randomise(attn, 11);
  const Tensor<double> q = init::normal<double>({kB, Hq}, 1.0, rng), M = init::normal<double>({kS * kB, Hk}, 1.0, rng);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
    AttentionMemory<double> mem = attn.prepare(tape, in[1], kB, kLengths);
    AttentionOutput<double> out = attn.forward(tape, in[0], mem);
    return concat(std::vector<Var<double>>{out.context, out.weights}, 1);
  };
  GradcheckResult r = gradcheck(f, {q, M}, attn.parameters());
  BOOST_TEST(r.ok, attention_name(kind) << ": " << r.message());

  // Padded positions: weight exactly 0, and their memory rows get exactly 0 gradient.
  Tape<double> tape;
  Var<double> qv = tape.input(q), Mv = tape.input(M);
  AttentionOutput<double> out = attn.forward(tape, qv, attn.prepare(tape, Mv, kB, kLengths));
  const Tensor<double>& w = out.weights.value();
  for (std::size_t b = 0; b < kB; ++b) {
    double total = 0;
    for (std::size_t s = 0; s < kS; ++s) {
      total += w(b, s);
      if (s >= kLengths[b]) BOOST_TEST(w(b, s) == 0.0);
      else BOOST_TEST(w(b, s) > 0.0);
    }
    BOOST_TEST(std::abs(total - 1.0) < 1e-12);
  }
  Var<double> loss = sum(square(out.context)) + sum(out.weights * tape.constant(init::normal<double>({kB, kS}, 1.0, rng)));
  tape.backward(loss);
  const Tensor<double>& g = Mv.grad();
  double real_rows = 0;
  for (std::size_t s = 0; s < kS; ++s)
    for (std::size_t b = 0; b < kB; ++b)
      for (std::size_t h = 0; h < Hk; ++h) {
        if (s >= kLengths[b]) BOOST_TEST(g(s * kB + b, h) == 0.0);
        else real_rows += std::abs(g(s * kB + b, h));
      }
  BOOST_TEST(real_rows > 0.0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(attention_additive_gradcheck_and_mask) { check_attention(AttentionKind::Additive, 3, 5); }
BOOST_AUTO_TEST_CASE(attention_dot_gradcheck_and_mask) { check_attention(AttentionKind::Dot, 3, 3); }
BOOST_AUTO_TEST_CASE(attention_general_gradcheck_and_mask) { check_attention(AttentionKind::General, 3, 5); }

BOOST_AUTO_TEST_CASE(attention_ops_reject_bad_shapes) {
  Tape<double> tape;
  Var<double> q = tape.constant(zeros<double>({2, 3})), M = tape.constant(zeros<double>({5, 3}));
  BOOST_CHECK_THROW(batched_dot(q, M), ShapeError);
  BOOST_CHECK_THROW(masked_softmax(tape.constant(zeros<double>({2, 3})), {3, 0}), ShapeError);
  BOOST_CHECK_THROW(masked_softmax(tape.constant(zeros<double>({2, 3})), {4, 1}), ShapeError);
  std::mt19937_64 rng(0);
  BOOST_CHECK_THROW(Attention<double>(AttentionKind::Dot, 3, 4, rng), std::invalid_argument);
}

// ---- encoder–decoder losses ---------------------------------------------------------------------------

namespace {

Seq2SeqOptions tiny_options() {
  Seq2SeqOptions o;
  o.source_vocab = 6;
  o.target_vocab = 5;
  o.embedding = 3;
  o.hidden = 3;
  return o;
}

// Two source sentences of lengths 3 and 1 (pad = 1), targets of lengths 3 and 2.
SourceBatch tiny_source() { return make_source_batch({{4, 5, 3}, {2}}, 1); }
const std::vector<std::int64_t> kTargets = {2, 4, 4, 3, 3, -100};  // time-major [3·2]

void check_loss(const Seq2SeqOptions& o, const char* name) {
  std::mt19937_64 rng(3);
  Seq2Seq<double> model(o, rng);
  randomise(model, 5, 0.4);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>&) {
    std::mt19937_64 r(1);
    return model.loss(tape, tiny_source(), kTargets, 1.0, &r).loss;
  };
  GradcheckResult r = gradcheck(f, {}, model.parameters());
  BOOST_TEST(r.ok, name << ": " << r.message());
  BOOST_TEST(r.checked == model.parameter_count());
  Tape<double> tape;
  std::mt19937_64 r1(1);
  BOOST_TEST(model.loss(tape, tiny_source(), kTargets, 1.0, &r1).tokens == 5u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(seq2seq_loss_gradcheck_bidirectional_gru_additive) {
  Seq2SeqOptions o = tiny_options();
  o.bidirectional = true;
  check_loss(o, "bi-GRU additive");
}

BOOST_AUTO_TEST_CASE(seq2seq_loss_gradcheck_lstm_dot_no_bridge) {
  Seq2SeqOptions o = tiny_options();
  o.cell = CellKind::LSTM;
  o.attention = AttentionKind::Dot;
  o.bridge = false;
  o.layers = 2;
  check_loss(o, "2-layer LSTM dot, no bridge");
}

BOOST_AUTO_TEST_CASE(seq2seq_loss_gradcheck_bidirectional_lstm_general) {
  Seq2SeqOptions o = tiny_options();
  o.cell = CellKind::LSTM;
  o.bidirectional = true;
  o.attention = AttentionKind::General;
  o.decoder_hidden = 4;
  check_loss(o, "bi-LSTM general");
}

BOOST_AUTO_TEST_CASE(seq2seq_loss_gradcheck_cho_fixed_context) {
  Seq2SeqOptions o = tiny_options();
  o.context = ContextKind::Fixed;
  check_loss(o, "GRU, fixed context (Cho)");
  o.context = ContextKind::None;
  check_loss(o, "GRU, no context (Sutskever)");
}

// ---- search -------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(beam_of_one_is_greedy) {
  for (CellKind cell : {CellKind::GRU, CellKind::LSTM}) {
    Seq2SeqOptions o = tiny_options();
    o.cell = cell;
    o.target_vocab = 7;
    o.bidirectional = true;
    std::mt19937_64 rng(9);
    Seq2Seq<double> model(o, rng);
    randomise(model, 21, 1.0);
    model.eval();
    SourceBatch src = make_source_batch({{4, 5, 3}, {2}, {5, 5, 5, 5}, {3, 2}}, 1);
    SearchOptions so = SearchOptions().with_max_length(8).with_start(2).with_eos(3).with_beam(1);
    std::vector<Hypothesis> g = model.greedy(src, so), b = model.beam(src, so);
    BOOST_REQUIRE(g.size() == 4u);
    BOOST_REQUIRE(b.size() == 4u);
    std::size_t finished = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      BOOST_TEST(g[i].tokens == b[i].tokens);
      BOOST_TEST(std::abs(g[i].log_prob - b[i].log_prob) < 1e-9);
      BOOST_TEST(g[i].finished == b[i].finished);
      finished += g[i].finished;
    }
    BOOST_TEST_MESSAGE("greedy hypotheses ending in <eos>: " << finished << "/4");
    // A wider beam never finds a less likely hypothesis than greedy here (alpha = 0).
    std::vector<Hypothesis> b5 = model.beam(src, so.with_beam(5));
    for (std::size_t i = 0; i < 4; ++i)
      if (g[i].finished) BOOST_TEST(b5[i].log_prob >= g[i].log_prob - 1e-9);
  }
}

BOOST_AUTO_TEST_CASE(batched_beam_equals_one_sentence_at_a_time) {
  Seq2SeqOptions o = tiny_options();
  o.target_vocab = 7;
  o.attention = AttentionKind::General;
  std::mt19937_64 rng(4);
  Seq2Seq<double> model(o, rng);
  randomise(model, 8, 1.0);
  model.eval();
  const std::vector<std::vector<std::int64_t>> sentences = {{4, 5, 3}, {2}, {5, 5, 5, 5}};
  SearchOptions so = SearchOptions().with_max_length(6).with_beam(3).with_length_alpha(0.6);
  std::vector<Hypothesis> together = model.beam(make_source_batch(sentences, 1), so);
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    Hypothesis alone = model.beam(make_source_batch({sentences[i]}, 1), so)[0];
    BOOST_TEST(alone.tokens == together[i].tokens);
    BOOST_TEST(std::abs(alone.score - together[i].score) < 1e-9);
  }
}

BOOST_AUTO_TEST_CASE(scheduled_sampling_loss) {
  std::mt19937_64 rng(2);
  Seq2Seq<double> model(tiny_options(), rng);
  for (double p : {0.0, 0.5}) {
    Tape<double> tape;
    std::mt19937_64 r(3);
    Seq2SeqLoss<double> l = model.loss(tape, tiny_source(), kTargets, p, &r);
    BOOST_TEST(l.tokens == 5u);
    for (auto* q : model.parameters()) q->zero_grad();
    tape.backward(l.loss);
    BOOST_TEST(std::isfinite(l.loss.item()));
    BOOST_TEST(l.loss.item() > 0.0);
  }
}

namespace {

// Tokens: 0 = <eos>, 1 = A, 2 = B, 3 = <sos>. The next-token distribution depends only on
// the previous token:
//   after <sos>: A .59, B .39      after A: A .36, B .33, <eos> .30      after B: <eos> .90
// Greedy takes A and then keeps taking A; the most likely sentence is B <eos> (.351).
const double kP[4][4] = {
    {0.97, 0.01, 0.01, 0.01},  // after <eos> (unused)
    {0.30, 0.36, 0.33, 0.01},  // after A
    {0.90, 0.04, 0.05, 0.01},  // after B
    {0.01, 0.59, 0.39, 0.01},  // after <sos>
};

DecoderStep<double> markov_decoder() {
  return [](Tape<double>& tape, const std::vector<std::int64_t>& ids, std::vector<RecurrentState<double>>& states) {
    Tensor<double> logits = Tensor<double>::from_shape({ids.size(), 4});
    for (std::size_t r = 0; r < ids.size(); ++r)
      for (std::size_t v = 0; v < 4; ++v) logits(r, v) = std::log(kP[ids[r]][v]);
    // The state counts steps, so the search must carry (and reorder) it.
    states[0].h = states[0].h + tape.constant(full<double>({ids.size(), 1}, 1.0));
    return tape.constant(logits);
  };
}

// The most likely finished sentence of at most `max_length` tokens, by enumeration.
std::vector<std::int64_t> brute_force_best(std::size_t max_length, double& best_lp) {
  std::vector<std::int64_t> best;
  best_lp = -1e300;
  std::vector<std::int64_t> prefix;
  std::function<void(std::int64_t, double)> walk = [&](std::int64_t prev, double lp) {
    for (std::int64_t v = 0; v < 4; ++v) {
      const double l = lp + std::log(kP[prev][v]);
      prefix.push_back(v);
      if (v == 0) {
        if (l > best_lp) best_lp = l, best = prefix;
      } else if (prefix.size() < max_length) {
        walk(v, l);
      }
      prefix.pop_back();
    }
  };
  walk(3, 0.0);
  return best;
}

}  // namespace

BOOST_AUTO_TEST_CASE(beam_search_finds_the_most_likely_sentence) {
  const std::size_t max_length = 6, batch = 2;
  double best_lp = 0;
  const std::vector<std::int64_t> best = brute_force_best(max_length, best_lp);
  BOOST_TEST(best == (std::vector<std::int64_t>{2, 0}));
  SearchOptions so = SearchOptions().with_start(3).with_eos(0).with_max_length(max_length);

  Tape<double> tape;
  auto start_states = [&](std::size_t rows) {
    return std::vector<RecurrentState<double>>{{tape.constant(zeros<double>({rows, 1})), {}}};
  };
  // Greedy misses it: A A A A A A, never finished.
  std::vector<Hypothesis> g = greedy_search(tape, markov_decoder(), start_states(batch), batch, so);
  for (const auto& h : g) {
    BOOST_TEST(h.tokens == (std::vector<std::int64_t>(max_length, 1)));
    BOOST_TEST(!h.finished);
  }
  // Beam search with k = 2 finds it, for every example of the batch.
  std::vector<Hypothesis> b = beam_search(tape, markov_decoder(), start_states(batch * 2), batch, so.with_beam(2));
  for (const auto& h : b) {
    BOOST_TEST(h.tokens == best);
    BOOST_TEST(h.finished);
    BOOST_TEST(std::abs(h.log_prob - best_lp) < 1e-12);
    BOOST_TEST(std::abs(h.log_prob - std::log(0.39 * 0.90)) < 1e-12);
  }
  // k = 1 is greedy search.
  std::vector<Hypothesis> b1 = beam_search(tape, markov_decoder(), start_states(batch), batch, so.with_beam(1));
  for (std::size_t i = 0; i < batch; ++i) BOOST_TEST(b1[i].tokens == g[i].tokens);
}

BOOST_AUTO_TEST_CASE(nbest_and_per_sentence_maximum_lengths) {
  const std::size_t batch = 2, k = 3;
  // alpha > 0: no early stop once a finished hypothesis beats the live ones, so k are found.
  SearchOptions so = SearchOptions().with_start(3).with_eos(0).with_max_length(6).with_beam(k).with_length_alpha(0.6);
  Tape<double> tape;
  auto start_states = [&](std::size_t rows) {
    return std::vector<RecurrentState<double>>{{tape.constant(zeros<double>({rows, 1})), {}}};
  };
  // The n best, best first: the first is beam_search's, the scores never rise, no repeats.
  const std::vector<Hypothesis> best = beam_search(tape, markov_decoder(), start_states(batch * k), batch, so);
  const auto nbest = beam_search_nbest(tape, markov_decoder(), start_states(batch * k), batch, so, 3);
  BOOST_REQUIRE(nbest.size() == batch);
  for (std::size_t b = 0; b < batch; ++b) {
    BOOST_REQUIRE(nbest[b].size() == 3u);
    BOOST_TEST(nbest[b][0].tokens == best[b].tokens);
    for (std::size_t j = 1; j < nbest[b].size(); ++j) {
      BOOST_TEST(nbest[b][j].score <= nbest[b][j - 1].score);
      BOOST_TEST(nbest[b][j].tokens != nbest[b][j - 1].tokens);
    }
  }
  // max_lengths caps each example on its own: example 0 gets one token, example 1 the usual 6.
  so.max_lengths = {1, 6};
  const std::vector<Hypothesis> g = greedy_search(tape, markov_decoder(), start_states(batch), batch, so);
  BOOST_TEST(g[0].tokens.size() == 1u);
  BOOST_TEST(g[1].tokens.size() == 6u);
  const std::vector<Hypothesis> capped = beam_search(tape, markov_decoder(), start_states(batch * k), batch, so);
  BOOST_TEST(capped[0].tokens.size() == 1u);
  BOOST_TEST(capped[1].tokens == best[1].tokens);
  so.max_lengths = {1};
  BOOST_CHECK_THROW(beam_search(tape, markov_decoder(), start_states(batch * k), batch, so), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(length_normalisation) {
  BOOST_TEST(length_normalised(-3.0, 4, 0.0) == -3.0);
  BOOST_TEST(std::abs(length_normalised(-3.0, 7, 1.0) - (-3.0 / 2.0)) < 1e-12);  // ((5 + 7) / 6)^1 = 2
}
