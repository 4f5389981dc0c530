#include "layers/seq2seq.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>


namespace tapenet {

SourceBatch make_source_batch(const std::vector<std::vector<std::int64_t>>& sentences, std::int64_t pad) {
  SourceBatch s;
  s.batch = sentences.size();
  if (s.batch == 0) throw ShapeError("make_source_batch", "no sentences");
  std::size_t S = 0;
  for (const auto& x : sentences) {
    if (x.empty()) throw ShapeError("make_source_batch", "empty source sentence");
    S = std::max(S, x.size());
  }
  s.ids.assign(S * s.batch, pad);
  for (std::size_t b = 0; b < s.batch; ++b) {
    s.lengths.push_back(sentences[b].size());
    for (std::size_t t = 0; t < sentences[b].size(); ++t) s.ids[t * s.batch + b] = sentences[b][t];
  }
  return s;
}

namespace {

template <class T>
Var<T> maybe_dropout(Var<T> x, double p, bool training, std::mt19937_64* rng) {
  return p > 0 && training && rng ? dropout(x, T(p), true, *rng) : x;
}

// The ids of rows `rows` of a time-major [S·B, F] tensor repeated k times per example:
// row s·B + b goes to rows s·(B·k) + b·k + j.
std::vector<std::int64_t> repeat_rows(std::size_t steps, std::size_t batch, std::size_t k) {
  std::vector<std::int64_t> rows;
  rows.reserve(steps * batch * k);
  for (std::size_t s = 0; s < steps; ++s)
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < k; ++j) rows.push_back(std::int64_t(s * batch + b));
  return rows;
}

// log softmax of one row of logits.
template <class T>
void log_softmax_row(const T* logits, std::size_t V, std::vector<double>& out) {
  out.resize(V);
  double m = logits[0];
  for (std::size_t v = 1; v < V; ++v) m = std::max(m, double(logits[v]));
  double z = 0;
  for (std::size_t v = 0; v < V; ++v) z += std::exp(double(logits[v]) - m);
  const double lz = m + std::log(z);
  for (std::size_t v = 0; v < V; ++v) out[v] = double(logits[v]) - lz;
}

template <class T>
RecurrentState<T> gather_state(const RecurrentState<T>& s, const std::vector<std::int64_t>& rows) {
  RecurrentState<T> out;
  out.h = gather_rows(s.h, rows);
  if (s.c.valid()) out.c = gather_rows(s.c, rows);
  return out;
}

}  // namespace

// ---- encoder ------------------------------------------------------------------------------------------

template <class T>
Encoder<T>::Encoder(const Seq2SeqOptions& options, std::mt19937_64& rng) : options_(options) {
  if (options.source_vocab == 0) throw std::invalid_argument("Encoder: source_vocab must be > 0");
  embedding_ = std::make_unique<Embedding<T>>(options.source_vocab, options.embedding, rng);
  StackedOptions<T> so;
  so.with_layers(options.layers).with_bidirectional(options.bidirectional).with_dropout(options.dropout);
  rnn_ = std::make_unique<StackedRNN<T>>(options.embedding, options.hidden, cell_factory<T>(options.cell, rng), so);
  this->add_module("embedding", *embedding_);
  this->add_module("rnn", *rnn_);
}

template <class T>
EncoderOutput<T> Encoder<T>::forward(Tape<T>& tape, const SourceBatch& source, std::mt19937_64* rng) const {
  require_dropout_generator("Encoder", this->training(), options_.dropout, rng);
  if (source.batch == 0 || source.ids.size() % source.batch != 0 || source.lengths.size() != source.batch)
    throw ShapeError("Encoder", std::to_string(source.ids.size()) + " ids and " + std::to_string(source.lengths.size()) +
                                    " lengths for B = " + std::to_string(source.batch));
  // x = E_src[ids]   [S·B, E]
  Var<T> x = maybe_dropout(embedding_->forward(tape, source.ids), options_.dropout, this->training(), rng);
  StackedOutput<T> run = rnn_->forward(tape, x, source.batch, source.lengths, {}, rng);
  EncoderOutput<T> out;
  out.memory = concat_outputs(run.outputs);
  out.summary_h = run.final_h();
  if (options_.cell == CellKind::LSTM) {
    const std::size_t n = run.final.size();
    out.summary_c = run.directions == 1 ? run.final.back().c
                                        : concat(std::vector<Var<T>>{run.final[n - 2].c, run.final[n - 1].c}, 1);
  }
  out.lengths = source.lengths;
  out.batch = source.batch;
  return out;
}

// ---- decoder ------------------------------------------------------------------------------------------

template <class T>
Decoder<T>::Decoder(const Seq2SeqOptions& options, std::size_t encoder_size, std::mt19937_64& rng)
    : options_(options), encoder_size_(encoder_size) {
  if (options.target_vocab == 0) throw std::invalid_argument("Decoder: target_vocab must be > 0");
  const std::size_t Hd = options.decoder_hidden ? options.decoder_hidden : encoder_size;
  const std::size_t C = options.context == ContextKind::None ? 0 : encoder_size;
  embedding_ = std::make_unique<Embedding<T>>(options.target_vocab, options.embedding, rng);
  cell_ = make_cell<T>(options.cell, options.embedding + C, Hd, rng);
  this->add_module("embedding", *embedding_);
  this->add_module("cell", *cell_);
  if (options.context == ContextKind::Attention) {
    attention_ = std::make_unique<Attention<T>>(options.attention, Hd, encoder_size, rng);
    this->add_module("attention", *attention_);
  }
  if (options.init_from_encoder && (options.bridge || Hd != encoder_size)) {
    bridge_h_ = std::make_unique<Linear<T>>(encoder_size, Hd, rng);
    this->add_module("bridge_h", *bridge_h_);
    if (options.cell == CellKind::LSTM) {
      bridge_c_ = std::make_unique<Linear<T>>(encoder_size, Hd, rng);
      this->add_module("bridge_c", *bridge_c_);
    }
  }
  readout_ = std::make_unique<Linear<T>>(Hd + C, options.target_vocab, rng);
  this->add_module("readout", *readout_);
}

template <class T>
std::vector<RecurrentState<T>> Decoder<T>::initial_state(Tape<T>& tape, const EncoderOutput<T>& encoder) const {
  if (!options_.init_from_encoder) return {cell_->zero_state(tape, encoder.batch)};
  RecurrentState<T> s;
  // h_0 = tanh(W_br ŝ + b_br), or ŝ itself
  s.h = bridge_h_ ? tanh(bridge_h_->forward(tape, encoder.summary_h)) : encoder.summary_h;
  if (cell_->has_cell_state()) s.c = bridge_c_ ? bridge_c_->forward(tape, encoder.summary_c) : encoder.summary_c;
  return {s};
}

template <class T>
DecoderContext<T> Decoder<T>::context(Tape<T>& tape, const EncoderOutput<T>& encoder) const {
  DecoderContext<T> c;
  if (options_.context == ContextKind::Attention)
    c.memory = attention_->prepare(tape, encoder.memory, encoder.batch, encoder.lengths);
  else if (options_.context == ContextKind::Fixed)
    c.fixed = encoder.summary_h;
  return c;
}

template <class T>
DecoderStep<T> Decoder<T>::step_function(const DecoderContext<T>& context, std::mt19937_64* rng) const {
  return [this, context, rng](Tape<T>& tape, const std::vector<std::int64_t>& ids,
                              std::vector<RecurrentState<T>>& states) -> Var<T> {
    const bool training = this->training();
    require_dropout_generator("Decoder", training, options_.dropout, rng);
    if (states.empty()) states.push_back(cell_->zero_state(tape, ids.size()));
    // x_t = E_tgt[y_{t-1}]
    Var<T> x = maybe_dropout(embedding_->forward(tape, ids), options_.dropout, training, rng);
    Var<T> c;
    if (options_.context == ContextKind::Attention) {
      // c_t = Σ_s a_{t,s} m_s,  a_t = softmax_s(score(h_{t-1}, m_s))
      AttentionOutput<T> a = attention_->forward(tape, states[0].h, context.memory);
      if (context.weights_out) context.weights_out->push_back(a.weights);
      c = a.context;
    } else if (options_.context == ContextKind::Fixed) {
      c = context.fixed;  // Cho et al.: the same summary at every step
    }
    // h_t = cell([x_t ; c_t], h_{t-1})
    Var<T> in = c.valid() ? concat(std::vector<Var<T>>{x, c}, 1) : x;
    states[0] = cell_->step(tape, in, states[0]);
    // logits_t = W_o [h_t ; c_t] + b_o
    Var<T> r = c.valid() ? concat(std::vector<Var<T>>{states[0].h, c}, 1) : states[0].h;
    return readout_->forward(tape, maybe_dropout(r, options_.dropout, training, rng));
  };
}

template <class T>
DecoderContext<T> repeat_context(const DecoderContext<T>& context, std::size_t k) {
  DecoderContext<T> out = context;
  if (context.memory.values.valid()) {
    const AttentionMemory<T>& m = context.memory;
    const auto rows = repeat_rows(m.steps, m.batch, k);
    out.memory.values = gather_rows(m.values, rows);
    out.memory.keys = m.keys.id() == m.values.id() ? out.memory.values : gather_rows(m.keys, rows);
    out.memory.batch = m.batch * k;
    out.memory.lengths.clear();
    for (std::size_t len : m.lengths) out.memory.lengths.insert(out.memory.lengths.end(), k, len);
  }
  if (context.fixed.valid()) out.fixed = gather_rows(context.fixed, repeat_rows(1, context.fixed.dim(0), k));
  return out;
}

template <class T>
std::vector<RecurrentState<T>> repeat_states(const std::vector<RecurrentState<T>>& states, std::size_t k) {
  std::vector<RecurrentState<T>> out;
  for (const auto& s : states) out.push_back(gather_state(s, repeat_rows(1, s.h.dim(0), k)));
  return out;
}

// ---- search -------------------------------------------------------------------------------------------

double length_normalised(double log_prob, std::size_t length, double alpha) {
  if (alpha == 0) return log_prob;
  return log_prob / std::pow((5.0 + double(length)) / 6.0, alpha);
}

template <class T>
std::vector<Hypothesis> greedy_search(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step,
                                      std::vector<RecurrentState<T>> states, std::size_t batch,
                                      const SearchOptions& options) {
  NoGradGuard no_grad;
  if (!options.max_lengths.empty() && options.max_lengths.size() != batch)
    throw std::invalid_argument("greedy_search: " + std::to_string(options.max_lengths.size()) +
                                " maximum lengths for a batch of " + std::to_string(batch));
  std::vector<Hypothesis> out(batch);
  std::vector<std::int64_t> ids(batch, options.start);
  std::vector<bool> done(batch, false);
  std::vector<double> lp;
  for (std::size_t t = 0; t < options.max_length; ++t) {
    Var<T> logits = step(tape, ids, states);
    const std::size_t V = logits.dim(1);
    bool all_done = true;
    for (std::size_t b = 0; b < batch; ++b) {
      if (done[b]) continue;
      log_softmax_row(logits.value().data() + b * V, V, lp);
      const auto best = std::int64_t(std::max_element(lp.begin(), lp.end()) - lp.begin());
      out[b].tokens.push_back(best);
      out[b].log_prob += lp[std::size_t(best)];
      ids[b] = best;
      if (best == options.eos) out[b].finished = done[b] = true;
      if (t + 1 >= options.max_length_of(b)) done[b] = true;  // cut, unfinished
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  for (auto& h : out) h.score = length_normalised(h.log_prob, h.tokens.size(), options.length_alpha);
  return out;
}

namespace {

constexpr double kDead = -std::numeric_limits<double>::infinity();  // log P of an empty beam row

// One extension of a live hypothesis: row `row` followed by `token`, with log P `log_prob`.
struct Candidate {
  double log_prob;
  std::size_t row;
  std::int64_t token;
};

// The beam of every example: k rows each (example b in rows b·k .. b·k+k-1), and the
// hypotheses each example has finished.
struct Beams {
  std::vector<double> log_prob;                   // per row; kDead for an empty row
  std::vector<std::vector<std::int64_t>> tokens;  // per row
  std::vector<std::int64_t> ids;                  // per row: the token fed at the next step
  std::vector<std::int64_t> parents;              // per row: the row it extends (for the states)
  std::vector<std::vector<Hypothesis>> finished;  // per example
  std::vector<bool> done;                         // per example
};

// Only the first beam of each example is alive at first, so the k beams do not start as copies.
Beams initial_beams(std::size_t batch, std::size_t k, std::int64_t start) {
  Beams beams;
  beams.log_prob.assign(batch * k, kDead);
  for (std::size_t b = 0; b < batch; ++b) beams.log_prob[b * k] = 0;
  beams.tokens.resize(batch * k);
  beams.ids.assign(batch * k, start);
  beams.finished.resize(batch);
  beams.done.assign(batch, false);
  return beams;
}

// The 2k best one-token extensions of example b's live rows, best first (ties: lower row,
// then lower token), in `cands`.
template <class T>
void best_extensions(const Beams& beams, std::size_t b, std::size_t k, const T* logits, std::size_t V,
                     std::vector<double>& lp, std::vector<Candidate>& cands) {
  cands.clear();
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t row = b * k + j;
    if (beams.log_prob[row] == kDead) continue;
    log_softmax_row(logits + row * V, V, lp);
    for (std::size_t v = 0; v < V; ++v) cands.push_back({beams.log_prob[row] + lp[v], row, std::int64_t(v)});
  }
  const std::size_t top = std::min(cands.size(), 2 * k);
  std::partial_sort(cands.begin(), cands.begin() + std::ptrdiff_t(top), cands.end(),
                    [](const Candidate& a, const Candidate& c) {
                      if (a.log_prob != c.log_prob) return a.log_prob > c.log_prob;
                      if (a.row != c.row) return a.row < c.row;
                      return a.token < c.token;
                    });
  cands.resize(top);
}

// Example b's rows of `next` from its best extensions: <eos> among the first k finishes a
// hypothesis, the best k others continue (so k = 1 is exactly greedy search). Marks the
// example done once it has k finished hypotheses or nothing left to extend.
void extend_example(const Beams& beams, std::size_t b, std::size_t k, const std::vector<Candidate>& cands,
                    const SearchOptions& options, Beams& next) {
  std::size_t filled = 0;
  for (std::size_t r = 0; r < cands.size() && filled < k; ++r) {
    const Candidate& c = cands[r];
    std::vector<std::int64_t> tokens = beams.tokens[c.row];
    tokens.push_back(c.token);
    if (c.token == options.eos) {
      if (r < k) {
        Hypothesis h{tokens, c.log_prob, length_normalised(c.log_prob, tokens.size(), options.length_alpha), true};
        next.finished[b].push_back(std::move(h));
      }
      continue;
    }
    const std::size_t row = b * k + filled++;
    next.parents[row] = std::int64_t(c.row);
    next.log_prob[row] = c.log_prob;
    next.tokens[row] = std::move(tokens);
    next.ids[row] = c.token;
  }
  if (next.finished[b].size() >= k || filled == 0) next.done[b] = true;
  // Without length normalisation log P only falls as hypotheses grow: stop once the best
  // finished one beats every live one.
  if (options.length_alpha == 0 && !next.finished[b].empty()) {
    double best_finished = kDead, best_alive = kDead;
    for (const auto& h : next.finished[b]) best_finished = std::max(best_finished, h.log_prob);
    for (std::size_t j = 0; j < k; ++j) best_alive = std::max(best_alive, next.log_prob[b * k + j]);
    if (best_finished >= best_alive) next.done[b] = true;
  }
}

// One search step: every example not done moves to its next beam; the finished hypotheses
// and done flags carry over. Rows of a done example (and unfilled rows) keep parent b·k.
template <class T>
Beams advance(Beams& beams, std::size_t batch, std::size_t k, Var<T> logits, const SearchOptions& options,
              std::vector<double>& lp, std::vector<Candidate>& cands) {
  const std::size_t N = batch * k, V = logits.dim(1);
  Beams next;
  next.log_prob.assign(N, kDead);
  next.tokens.resize(N);
  next.ids.assign(N, options.eos);
  next.parents.resize(N);
  next.finished = std::move(beams.finished);
  next.done = std::move(beams.done);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t j = 0; j < k; ++j) next.parents[b * k + j] = std::int64_t(b * k);
    if (next.done[b]) continue;
    best_extensions(beams, b, k, logits.value().data(), V, lp, cands);
    extend_example(beams, b, k, cands, options, next);
  }
  return next;
}

// The best hypothesis of each example by score; an example cut at max_length lets its live
// hypotheses compete too. The first of equal scores wins (those that finished earlier).
// Moves the live rows of example b into its pool as unfinished hypotheses.
void retire_live_rows(Beams& beams, std::size_t b, std::size_t k, const SearchOptions& options) {
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t row = b * k + j;
    if (beams.log_prob[row] == kDead) continue;
    beams.finished[b].push_back({beams.tokens[row], beams.log_prob[row],
                                 length_normalised(beams.log_prob[row], beams.tokens[row].size(), options.length_alpha),
                                 false});
    beams.log_prob[row] = kDead;
  }
}

// Each example's hypotheses, best score first (the first of equal scores first: those that
// finished earlier); an example cut at its maximum length lets its live hypotheses compete too.
std::vector<std::vector<Hypothesis>> ranked_hypotheses(Beams& beams, std::size_t batch, std::size_t k,
                                                       const SearchOptions& options) {
  std::vector<std::vector<Hypothesis>> ranked(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    if (!beams.done[b]) retire_live_rows(beams, b, k, options);
    ranked[b] = std::move(beams.finished[b]);
    std::stable_sort(ranked[b].begin(), ranked[b].end(),
                     [](const Hypothesis& a, const Hypothesis& c) { return a.score > c.score; });
  }
  return ranked;
}

template <class T>
std::vector<std::vector<Hypothesis>> run_beam_search(Tape<T>& tape, const DecoderStep<T>& step,
                                                     std::vector<RecurrentState<T>> states, std::size_t batch,
                                                     const SearchOptions& options) {
  NoGradGuard no_grad;
  const std::size_t k = options.beam;
  if (k == 0) throw std::invalid_argument("beam_search: beam size must be >= 1");
  if (!options.max_lengths.empty() && options.max_lengths.size() != batch)
    throw std::invalid_argument("beam_search: " + std::to_string(options.max_lengths.size()) +
                                " maximum lengths for a batch of " + std::to_string(batch));
  Beams beams = initial_beams(batch, k, options.start);
  std::vector<double> lp;
  std::vector<Candidate> cands;
  std::size_t longest = 0;
  for (std::size_t b = 0; b < batch; ++b) longest = std::max(longest, options.max_length_of(b));
  for (std::size_t t = 0; t < longest; ++t) {
    Var<T> logits = step(tape, beams.ids, states);
    beams = advance(beams, batch, k, logits, options, lp, cands);
    for (auto& s : states) s = gather_state(s, beams.parents);
    for (std::size_t b = 0; b < batch; ++b)
      if (!beams.done[b] && t + 1 >= options.max_length_of(b)) {  // example b has reached its limit
        retire_live_rows(beams, b, k, options);
        beams.done[b] = true;
      }
    if (std::all_of(beams.done.begin(), beams.done.end(), [](bool d) { return d; })) break;
  }
  return ranked_hypotheses(beams, batch, k, options);
}

}  // namespace

template <class T>
std::vector<Hypothesis> beam_search(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step,
                                    std::vector<RecurrentState<T>> states, std::size_t batch,
                                    const SearchOptions& options) {
  std::vector<Hypothesis> best(batch);
  std::vector<std::vector<Hypothesis>> ranked = run_beam_search<T>(tape, step, std::move(states), batch, options);
  for (std::size_t b = 0; b < batch; ++b)
    if (!ranked[b].empty()) best[b] = std::move(ranked[b][0]);
  return best;
}

template <class T>
std::vector<std::vector<Hypothesis>> beam_search_nbest(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step,
                                                       std::vector<RecurrentState<T>> states, std::size_t batch,
                                                       const SearchOptions& options, std::size_t n) {
  std::vector<std::vector<Hypothesis>> ranked = run_beam_search<T>(tape, step, std::move(states), batch, options);
  for (auto& r : ranked)
    if (r.size() > n) r.resize(n);
  return ranked;
}

// ---- the model ----------------------------------------------------------------------------------------

template <class T>
Seq2Seq<T>::Seq2Seq(const Seq2SeqOptions& options, std::mt19937_64& rng)
    : options_(options), encoder_(options, rng), decoder_(options, encoder_.output_size(), rng) {
  this->add_module("encoder", encoder_);
  this->add_module("decoder", decoder_);
}

template <class T>
Seq2SeqLoss<T> Seq2Seq<T>::loss(Tape<T>& tape, const SourceBatch& source, const std::vector<std::int64_t>& targets,
                                double teacher_forcing, std::mt19937_64* rng) const {
  require_dropout_generator("Seq2Seq", this->training(), options_.dropout, rng);
  EncoderOutput<T> enc = encoder_.forward(tape, source, rng);
  DecoderContext<T> ctx = decoder_.context(tape, enc);
  DecoderStep<T> step = decoder_.step_function(ctx, rng);
  DecodeResult<T> r = decode(tape, step, decoder_.initial_state(tape, enc),
                             std::vector<std::int64_t>(source.batch, options_.start_token), targets,
                             DecodeOptions().with_teacher_forcing(teacher_forcing), rng);
  return {r.loss, r.tokens};
}

template <class T>
std::vector<Hypothesis> Seq2Seq<T>::greedy(const SourceBatch& source, const SearchOptions& options) const {
  require_dropout_generator("Seq2Seq", this->training(), options_.dropout, nullptr);
  NoGradGuard no_grad;
  Tape<T> tape;
  EncoderOutput<T> enc = encoder_.forward(tape, source);
  DecoderContext<T> ctx = decoder_.context(tape, enc);
  return greedy_search(tape, decoder_.step_function(ctx), decoder_.initial_state(tape, enc), source.batch,
                       options);
}

template <class T>
std::vector<Hypothesis> Seq2Seq<T>::beam(const SourceBatch& source, const SearchOptions& options) const {
  require_dropout_generator("Seq2Seq", this->training(), options_.dropout, nullptr);
  NoGradGuard no_grad;
  Tape<T> tape;
  EncoderOutput<T> enc = encoder_.forward(tape, source);
  DecoderContext<T> ctx = repeat_context(decoder_.context(tape, enc), options.beam);
  return beam_search(tape, decoder_.step_function(ctx),
                     repeat_states(decoder_.initial_state(tape, enc), options.beam), source.batch, options);
}

template <class T>
std::vector<std::vector<Hypothesis>> Seq2Seq<T>::beam_nbest(const SourceBatch& source, const SearchOptions& options,
                                                            std::size_t n) const {
  require_dropout_generator("Seq2Seq", this->training(), options_.dropout, nullptr);
  NoGradGuard no_grad;
  Tape<T> tape;
  EncoderOutput<T> enc = encoder_.forward(tape, source);
  DecoderContext<T> ctx = repeat_context(decoder_.context(tape, enc), options.beam);
  return beam_search_nbest(tape, decoder_.step_function(ctx),
                           repeat_states(decoder_.initial_state(tape, enc), options.beam), source.batch, options, n);
}

template <class T>
std::vector<std::vector<double>> Seq2Seq<T>::attention_matrix(const std::vector<std::int64_t>& source,
                                                              const std::vector<std::int64_t>& output,
                                                              std::int64_t start) const {
  if (options_.context != ContextKind::Attention || output.empty()) return {};
  require_dropout_generator("Seq2Seq", this->training(), options_.dropout, nullptr);
  NoGradGuard no_grad;
  Tape<T> tape;
  EncoderOutput<T> enc = encoder_.forward(tape, make_source_batch({source}, 0));
  DecoderContext<T> ctx = decoder_.context(tape, enc);
  std::vector<Var<T>> weights;
  ctx.weights_out = &weights;
  DecoderStep<T> step = decoder_.step_function(ctx);
  std::vector<RecurrentState<T>> states = decoder_.initial_state(tape, enc);
  std::int64_t prev = start;
  std::vector<std::vector<double>> matrix;
  for (std::int64_t y : output) {
    step(tape, {prev}, states);
    const Tensor<T>& w = weights.back().value();
    matrix.emplace_back(w.begin(), w.end());
    prev = y;
  }
  return matrix;
}

#define TAPENET_INSTANTIATE_SEQ2SEQ(T)                                                                               \
  template class Encoder<T>;                                                                                         \
  template class Decoder<T>;                                                                                         \
  template class Seq2Seq<T>;                                                                                         \
  template DecoderContext<T> repeat_context(const DecoderContext<T>&, std::size_t);                                  \
  template std::vector<RecurrentState<T>> repeat_states(const std::vector<RecurrentState<T>>&, std::size_t);         \
  template std::vector<Hypothesis> greedy_search(Tape<T>&, const DecoderStep<T>&, std::vector<RecurrentState<T>>,    \
                                                 std::size_t, const SearchOptions&);                                 \
  template std::vector<Hypothesis> beam_search(Tape<T>&, const DecoderStep<T>&, std::vector<RecurrentState<T>>,      \
                                               std::size_t, const SearchOptions&);                                   \
  template std::vector<std::vector<Hypothesis>> beam_search_nbest(Tape<T>&, const DecoderStep<T>&,                   \
                                                                  std::vector<RecurrentState<T>>, std::size_t,       \
                                                                  const SearchOptions&, std::size_t);
TAPENET_INSTANTIATE_SEQ2SEQ(float)
TAPENET_INSTANTIATE_SEQ2SEQ(double)

}  // namespace tapenet
