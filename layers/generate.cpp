#include "layers/generate.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace tapenet {

// ---- carrying states between tapes ------------------------------------------------------------

template <class T>
StateValues<T> state_values(const RecurrentState<T>& state) {
  StateValues<T> v;
  v.h = state.h.value();
  v.has_c = state.c.valid();
  if (v.has_c) v.c = state.c.value();
  return v;
}

template <class T>
RecurrentState<T> constant_state(const StateValues<T>& values, Tape<T>& tape) {
  RecurrentState<T> s;
  s.h = tape.constant(values.h);
  if (values.has_c) s.c = tape.constant(values.c);
  return s;
}

template <class T>
RecurrentState<T> detach_state(const RecurrentState<T>& state, Tape<T>& tape) {
  RecurrentState<T> s;
  s.h = tape.constant(state.h.value());
  if (state.c.valid()) s.c = tape.constant(state.c.value());
  return s;
}

template <class T>
std::vector<RecurrentState<T>> detach_states(const std::vector<RecurrentState<T>>& states, Tape<T>& tape) {
  std::vector<RecurrentState<T>> out;
  for (const auto& s : states) out.push_back(detach_state(s, tape));
  return out;
}

// ---- truncated BPTT -------------------------------------------------------------------------------

template <class T>
std::vector<StateValues<T>> truncated_bptt(Tape<T>& tape, std::size_t steps, std::size_t chunk,
                                           const ChunkFn<non_deduced_t<T>>& fn,
                                           const std::vector<StateValues<T>>& initial) {
  if (chunk == 0) throw std::invalid_argument("truncated_bptt: chunk must be positive");
  std::vector<StateValues<T>> carried = initial;
  for (std::size_t begin = 0; begin < steps;) {
    const std::size_t end = std::min(steps, begin + chunk);
    tape.clear();
    std::vector<RecurrentState<T>> carry;
    for (const auto& v : carried) carry.push_back(constant_state(v, tape));
    const std::vector<RecurrentState<T>> reached = fn(tape, begin, end, carry);
    carried.clear();
    for (const auto& s : reached) carried.push_back(state_values(s));
    begin = end;
  }
  return carried;
}

std::vector<std::size_t> chunk_lengths(const std::vector<std::size_t>& lengths, std::size_t begin, std::size_t end) {
  if (end < begin) throw std::invalid_argument("chunk_lengths: end before begin");
  std::vector<std::size_t> out;
  for (std::size_t len : lengths) out.push_back(len <= begin ? 0 : std::min(len - begin, end - begin));
  return out;
}

// ---- decoder steps ------------------------------------------------------------------------------------

template <class T>
TokenIO<T> token_io(const Embedding<T>& embedding, const Linear<T>& readout) {
  TokenIO<T> io;
  io.embed = [&embedding](Tape<T>& tape, const std::vector<std::int64_t>& ids) { return embedding.forward(tape, ids); };
  io.readout = [&readout](Tape<T>& tape, const RecurrentState<T>& s) { return readout.forward(tape, s.h); };
  return io;
}

template <class T>
DecoderStep<T> cell_decoder(const RecurrentCell<T>& cell, TokenIO<T> io) {
  return [&cell, io = std::move(io)](Tape<T>& tape, const std::vector<std::int64_t>& ids,
                                     std::vector<RecurrentState<T>>& states) {
    if (states.empty()) states.push_back(cell.zero_state(tape, ids.size()));
    if (states.size() != 1)
      throw std::invalid_argument("cell_decoder: expected one state, got " + std::to_string(states.size()));
    states[0] = cell.step(tape, io.embed(tape, ids), states[0]);
    return io.readout(tape, states[0]);
  };
}

template <class T>
DecoderStep<T> stacked_decoder(const StackedRNN<T>& rnn, TokenIO<T> io, std::mt19937_64* rng) {
  return [&rnn, io = std::move(io), rng](Tape<T>& tape, const std::vector<std::int64_t>& ids,
                                          std::vector<RecurrentState<T>>& states) {
    rnn.step(tape, io.embed(tape, ids), states, rng);
    return io.readout(tape, states.back());
  };
}

template <class T>
std::int64_t argmax_token(const T* logits, std::size_t vocab) {
  if (vocab == 0) throw std::invalid_argument("argmax_token: empty vocabulary");
  std::size_t best = 0;
  for (std::size_t v = 1; v < vocab; ++v)
    if (logits[v] > logits[best]) best = v;
  return static_cast<std::int64_t>(best);
}

template <class T>
std::int64_t choose_token(const T* logits, std::size_t vocab, bool greedy, double temperature, std::mt19937_64& rng) {
  const auto best = static_cast<std::size_t>(argmax_token(logits, vocab));
  if (greedy) return static_cast<std::int64_t>(best);
  if (!(temperature > 0)) throw std::invalid_argument("choose_token: temperature must be positive");
  // p_v ∝ exp((l_v - l_max) / temperature)
  std::vector<double> p(vocab);
  double total = 0;
  for (std::size_t v = 0; v < vocab; ++v)
    total += p[v] = std::exp((static_cast<double>(logits[v]) - static_cast<double>(logits[best])) / temperature);
  double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  for (std::size_t v = 0; v < vocab; ++v) {
    if (u < p[v]) return static_cast<std::int64_t>(v);
    u -= p[v];
  }
  return static_cast<std::int64_t>(best);  // rounding at the very top of the range
}

namespace {

template <class T>
void check_logits(const char* op, Var<T> logits, std::size_t batch) {
  if (logits.ndim() != 2 || logits.dim(0) != batch || logits.dim(1) == 0)
    throw ShapeError(op, "the decoder step returned logits " + shape_str(logits.shape()) + " for a batch of " +
                             std::to_string(batch));
}

}  // namespace

// ---- teacher forcing and scheduled sampling -------------------------------------------------------

template <class T>
DecodeResult<T> decode(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step, std::vector<RecurrentState<T>> initial,
                       const std::vector<std::int64_t>& start, const std::vector<std::int64_t>& targets,
                       const DecodeOptions& options, std::mt19937_64* rng) {
  const std::size_t B = start.size();
  if (B == 0) throw ShapeError("decode", "no start tokens");
  if (targets.empty() || targets.size() % B != 0)
    throw ShapeError("decode", std::to_string(targets.size()) + " targets are not T·B for B = " + std::to_string(B));
  const double p = options.teacher_forcing;
  if (!(p >= 0 && p <= 1)) throw std::invalid_argument("decode: teacher_forcing must be in [0, 1]");
  // A gold ignore_index also feeds a prediction, so sampled predictions may draw at p = 1.
  auto generator = [rng]() -> std::mt19937_64& {
    if (!rng) throw std::invalid_argument("decode: scheduled sampling or sampled predictions need a generator");
    return *rng;
  };
  if ((p > 0 && p < 1) || (options.sample_predictions && p < 1)) generator();
  const std::size_t steps = targets.size() / B;
  ClassLossOptions<T> loss_options;
  loss_options.ignore_index = options.ignore_index;
  loss_options.reduction = Reduction::Sum;
  std::bernoulli_distribution coin(p);

  DecodeResult<T> r;
  std::vector<RecurrentState<T>> states = std::move(initial);
  std::vector<std::int64_t> input = start;
  r.inputs = start;
  for (std::size_t t = 0; t < steps; ++t) {
    Var<T> logits = step(tape, input, states);
    check_logits("decode", logits, B);
    const std::vector<std::int64_t> gold(targets.begin() + t * B, targets.begin() + (t + 1) * B);
    // L += Σ_b -log softmax(logits_b)[gold_b]
    Var<T> loss = cross_entropy(logits, gold, loss_options);
    r.loss = t == 0 ? loss : r.loss + loss;
    for (std::int64_t g : gold) r.tokens += g != options.ignore_index;
    r.logits.push_back(logits);
    if (t + 1 == steps) break;
    // The next input: the gold token on heads, the model's own prediction on tails.
    const std::size_t V = logits.dim(1);
    for (std::size_t b = 0; b < B; ++b) {
      const bool heads = p >= 1 || (p > 0 && coin(generator()));
      const T* row = logits.value().data() + b * V;
      if (heads && gold[b] != options.ignore_index)
        input[b] = gold[b];
      else
        input[b] = options.sample_predictions ? choose_token(row, V, false, options.temperature, generator())
                                              : argmax_token(row, V);
    }
    r.inputs.insert(r.inputs.end(), input.begin(), input.end());
  }
  r.final = std::move(states);
  return r;
}

// ---- free-running generation ---------------------------------------------------------------------------

template <class T>
std::vector<std::int64_t> generate(const DecoderStep<T>& step, const std::vector<std::int64_t>& prime, std::size_t steps,
                                   std::mt19937_64& rng, const GenerateOptions& options,
                                   const std::vector<RecurrentState<T>>& initial) {
  const std::size_t B = options.batch;
  if (B == 0 || prime.empty() || prime.size() % B != 0)
    throw ShapeError("generate", "a prime of " + std::to_string(prime.size()) + " ids is not P·B (P >= 1) for B = " +
                                     std::to_string(B));
  NoGradGuard no_grad;
  Tape<T> tape;
  std::vector<RecurrentState<T>> states = detach_states(initial, tape);
  // One step on a fresh tape: the memory stays that of one step however long we generate.
  auto advance = [&](const std::vector<std::int64_t>& ids) {
    std::vector<StateValues<T>> saved;
    for (const auto& s : states) saved.push_back(state_values(s));
    tape.clear();
    states.clear();
    for (const auto& v : saved) states.push_back(constant_state(v, tape));
    Var<T> logits = step(tape, ids, states);
    check_logits("generate", logits, B);
    return Tensor<T>(logits.value());
  };
  Tensor<T> logits;
  for (std::size_t t = 0; t < prime.size() / B; ++t)
    logits = advance(std::vector<std::int64_t>(prime.begin() + t * B, prime.begin() + (t + 1) * B));

  std::vector<std::int64_t> out;
  std::vector<bool> done(B, false);
  std::vector<std::int64_t> next(B);
  for (std::size_t n = 0; n < steps; ++n) {
    const std::size_t V = logits.shape()[1];
    bool all_done = true;
    for (std::size_t b = 0; b < B; ++b) {
      next[b] = done[b] ? *options.stop
                        : choose_token(logits.data() + b * V, V, options.greedy, options.temperature, rng);
      done[b] = done[b] || (options.stop && next[b] == *options.stop);
      all_done = all_done && done[b];
    }
    out.insert(out.end(), next.begin(), next.end());
    if (all_done || n + 1 == steps) break;
    logits = advance(next);
  }
  return out;
}

#define TAPENET_INSTANTIATE_GENERATE(T)                                                                             \
  template StateValues<T> state_values(const RecurrentState<T>&);                                                   \
  template RecurrentState<T> constant_state(const StateValues<T>&, Tape<T>&);                                       \
  template RecurrentState<T> detach_state(const RecurrentState<T>&, Tape<T>&);                                      \
  template std::vector<RecurrentState<T>> detach_states(const std::vector<RecurrentState<T>>&, Tape<T>&);           \
  template std::vector<StateValues<T>> truncated_bptt(Tape<T>&, std::size_t, std::size_t, const ChunkFn<T>&,        \
                                                      const std::vector<StateValues<T>>&);                          \
  template TokenIO<T> token_io(const Embedding<T>&, const Linear<T>&);                                              \
  template DecoderStep<T> cell_decoder(const RecurrentCell<T>&, TokenIO<T>);                                        \
  template DecoderStep<T> stacked_decoder(const StackedRNN<T>&, TokenIO<T>, std::mt19937_64*);                      \
  template std::int64_t argmax_token(const T*, std::size_t);                                                        \
  template std::int64_t choose_token(const T*, std::size_t, bool, double, std::mt19937_64&);                        \
  template DecodeResult<T> decode(Tape<T>&, const DecoderStep<T>&, std::vector<RecurrentState<T>>,                  \
                                  const std::vector<std::int64_t>&, const std::vector<std::int64_t>&,               \
                                  const DecodeOptions&, std::mt19937_64*);                                          \
  template std::vector<std::int64_t> generate(const DecoderStep<T>&, const std::vector<std::int64_t>&, std::size_t, \
                                              std::mt19937_64&, const GenerateOptions&,                             \
                                              const std::vector<RecurrentState<T>>&);
TAPENET_INSTANTIATE_GENERATE(float)
TAPENET_INSTANTIATE_GENERATE(double)

}  // namespace tapenet
