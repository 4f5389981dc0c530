#include "layers/cells.hpp"

#include "autograd/ops_rnn.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace tapenet {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Identity: return "identity";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Relu: return "relu";
  }
  return "?";
}

namespace {

// G orthogonal [H, R] blocks stacked into [G·H, R]: each gate's recurrent matrix is
// orthogonal on its own, as if the gates were separate layers.
template <class T>
Tensor<T> blockwise_orthogonal(std::size_t gates, std::size_t units, std::size_t cols, std::mt19937_64& rng) {
  Tensor<T> w = Tensor<T>::from_shape({gates * units, cols});
  for (std::size_t k = 0; k < gates; ++k) {
    const Tensor<T> q = init::orthogonal<T>(units, cols, rng);
    std::copy(q.data(), q.data() + q.size(), w.data() + k * units * cols);
  }
  return w;
}

}  // namespace

// ---- FusedGateCell ----------------------------------------------------------------------

template <class T>
FusedGateCell<T>::FusedGateCell(std::string name, std::size_t input, std::size_t recurrent, std::size_t units,
                                std::size_t gates, std::mt19937_64& rng)
    : W_ih(this->add_parameter("W_ih", init::glorot_uniform<T>({gates * units, input}, rng))),
      W_hh(this->add_parameter("W_hh", blockwise_orthogonal<T>(gates, units, recurrent, rng))),
      b_ih(this->add_parameter("b_ih", zeros<T>({1, gates * units}))),
      b_hh(this->add_parameter("b_hh", zeros<T>({1, gates * units}))),
      name_(std::move(name)),
      units_(units),
      gates_(gates) {}

template <class T>
Var<T> FusedGateCell<T>::project_input(Tape<T>& tape, Var<T> x) const {
  return linear(x, tape.param(W_ih), tape.param(b_ih));  // x W_ihᵀ + b_ih as one node
}

template <class T>
Var<T> FusedGateCell<T>::normalise_gates(Tape<T>& tape, Var<T> pre, Var<T> gain, Var<T> bias) const {
  const std::size_t rows = pre.dim(0), width = pre.dim(1), H = units_;
  // [N, G·H] row-major is [N·G, H] with one gate block per row: LN over each row.
  const Var<T> unit = layer_norm(reshape(pre, {rows * width / H, H}), tape.constant(full<T>({H}, T(1))),
                                 tape.constant(zeros<T>({H})));
  return reshape(unit, {rows, width}) * gain + bias;
}

template <class T>
Var<T> FusedGateCell<T>::normalised_input(Tape<T>& tape, Var<T> x, Parameter<T>& gain) const {
  return normalise_gates(tape, matmul(x, tape.param(W_ih), false, true), tape.param(gain), tape.param(b_ih));
}

template <class T>
Var<T> FusedGateCell<T>::project_recurrent(Tape<T>& tape, Var<T> h) const {
  return linear(h, tape.param(W_hh), tape.param(b_hh));
}

template <class T>
void FusedGateCell<T>::check_step(Var<T> x_projected, const RecurrentState<T>& state) const {
  const std::string op = name_ + "::step";
  const std::size_t width = gates_ * units_;
  if (x_projected.ndim() != 2 || x_projected.dim(1) != width)
    throw ShapeError(op, "projected input is " + shape_str(x_projected.shape()) + ", expected [B," +
                             std::to_string(width) + "]");
  const std::size_t batch = x_projected.dim(0);
  auto expect = [&](Var<T> v, const std::string& what, std::size_t cols) {
    if (!v.valid()) throw ShapeError(op, "state." + what + " is not set");
    if (v.ndim() != 2 || v.dim(0) != batch || v.dim(1) != cols)
      throw ShapeError(op, "state." + what + " is " + shape_str(v.shape()) + ", expected [" +
                               std::to_string(batch) + "," + std::to_string(cols) + "]");
  };
  expect(state.h, "h", recurrent_size());
  if (this->has_cell_state()) expect(state.c, "c", units_);
}

// final.h is row (len_b - 1)·B + b of the outputs: each sequence's h after its last real step.
template <class T>
FusedRun<T> FusedGateCell<T>::fused_result(Var<T> outputs, Var<T> c_last, const std::vector<std::size_t>& lengths) const {
  const std::size_t B = lengths.size(), rows = outputs.dim(0), steps = rows / B;
  FusedRun<T> run;
  run.outputs = outputs;
  if (std::all_of(lengths.begin(), lengths.end(), [&](std::size_t len) { return len == steps; })) {
    run.final.h = slice(outputs, 0, rows - B, rows);
  } else {
    std::vector<std::int64_t> last(B);
    for (std::size_t b = 0; b < B; ++b) last[b] = static_cast<std::int64_t>((lengths[b] - 1) * B + b);
    run.final.h = gather_rows(outputs, last);
  }
  run.final.c = c_last;
  return run;
}

// ---- Elman --------------------------------------------------------------------------------

template <class T>
ElmanCell<T>::ElmanCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const ElmanOptions& options)
    : FusedGateCell<T>("ElmanCell", input, hidden, hidden, 1, rng), options_(options) {}

template <class T>
RecurrentState<T> ElmanCell<T>::step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const {
  this->check_step(x_projected, state);
  // h_t = φ(W h_{t-1} + U x_t + b); tanh: the fused op of autograd/ops_rnn.hpp for one step
  if (options_.activation == Activation::Tanh)
    return {elman_tanh_sequence(x_projected, state.h, tape.param(this->W_hh), tape.param(this->b_hh)), Var<T>()};
  return {apply_activation(x_projected + this->project_recurrent(tape, state.h), options_.activation), Var<T>()};
}

template <class T>
std::optional<FusedRun<T>> ElmanCell<T>::run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                                   const RecurrentState<T>& initial) const {
  if (options_.activation != Activation::Tanh) return std::nullopt;
  return this->fused_result(
      elman_tanh_sequence(projected, initial.h, tape.param(this->W_hh), tape.param(this->b_hh), lengths), Var<T>(),
      lengths);
}

// ---- Jordan -------------------------------------------------------------------------------

namespace {

std::size_t jordan_output_size(const JordanOptions& options, std::size_t hidden) {
  return options.output_size ? options.output_size : hidden;
}

}  // namespace

template <class T>
JordanCell<T>::JordanCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const JordanOptions& options)
    : FusedGateCell<T>("JordanCell", input, jordan_output_size(options, hidden), hidden, 1, rng),
      V(this->add_parameter("V", init::glorot_uniform<T>({jordan_output_size(options, hidden), hidden}, rng))),
      c(this->add_parameter("c", zeros<T>({1, jordan_output_size(options, hidden)}))),
      options_(options) {}

template <class T>
RecurrentState<T> JordanCell<T>::step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const {
  this->check_step(x_projected, state);
  // a_t = φ(W_x x_t + W_y y_{t-1} + b)
  const Var<T> a = apply_activation(x_projected + this->project_recurrent(tape, output(state)), options_.activation);
  // y_t = φ_out(V a_t + c), carried as the next state's h
  const Var<T> y = matmul(a, tape.param(V), false, true) + tape.param(c);
  return {apply_activation(y, options_.output_activation), Var<T>()};
}

// ---- LSTM ---------------------------------------------------------------------------------

template <class T>
LSTMCell<T>::LSTMCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const LSTMOptions& options)
    : FusedGateCell<T>("LSTMCell", input, hidden, hidden, options.coupled ? 3 : 4, rng), options_(options) {
  if (options_.unit_forget_bias) {
    T* b = this->b_ih.value.data() + forget_gate() * hidden;
    std::fill(b, b + hidden, T(1));
  }
  if (options_.peephole) {
    if (!options_.coupled) p_i = &this->add_parameter("p_i", zeros<T>({1, hidden}));
    p_f = &this->add_parameter("p_f", zeros<T>({1, hidden}));
    p_o = &this->add_parameter("p_o", zeros<T>({1, hidden}));
  }
  if (options_.layer_norm) {
    const std::size_t width = this->gate_count() * hidden;
    ln_ih = &this->add_parameter("ln_ih", full<T>({1, width}, T(1)));
    ln_hh = &this->add_parameter("ln_hh", full<T>({1, width}, T(1)));
    ln_c_gain = &this->add_parameter("ln_c_gain", full<T>({hidden}, T(1)));
    ln_c_bias = &this->add_parameter("ln_c_bias", zeros<T>({hidden}));
  }
}

template <class T>
Var<T> LSTMCell<T>::project_input(Tape<T>& tape, Var<T> x) const {
  return options_.layer_norm ? this->normalised_input(tape, x, *ln_ih) : FusedGateCell<T>::project_input(tape, x);
}

template <class T>
Var<T> LSTMCell<T>::peep(Tape<T>& tape, Var<T> pre, Parameter<T>* p, Var<T> c) const {
  return p ? pre + tape.param(*p) * c : pre;
}

template <class T>
Var<T> LSTMCell<T>::admitted(Tape<T>& tape, Var<T> pre, Var<T> f, Var<T> g, Var<T> c_prev) const {
  // coupled: (1-f)⊙g
  if (options_.coupled) return (T(1) - f) * g;
  // i = σ(W_i x + U_i h_{t-1} + b_i [+ p_i⊙C_{t-1}]);  i⊙g
  const Var<T> i = sigmoid(peep(tape, this->gate(pre, 0), p_i, c_prev));
  return i * g;
}

template <class T>
RecurrentState<T> LSTMCell<T>::step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const {
  this->check_step(x_projected, state);
  if (!options_.peephole && !options_.coupled && !options_.layer_norm) {
    // The equations below as one fused op (autograd/ops_rnn.hpp) over one step
    const LSTMSequenceResult<T> r =
        lstm_sequence(x_projected, state.h, state.c, tape.param(this->W_hh), tape.param(this->b_hh));
    return {r.h, r.c_last};
  }
  // [LN(W x) + LN(U h_{t-1})] with layer_norm, else W x + U h_{t-1}; biases included
  const Var<T> recurrent = options_.layer_norm ? this->normalise_gates(tape, matmul(state.h, tape.param(this->W_hh), false, true),
                                                                       tape.param(*ln_hh), tape.param(this->b_hh))
                                               : this->project_recurrent(tape, state.h);
  const Var<T> pre = x_projected + recurrent;
  // f = σ(W_f x + U_f h_{t-1} + b_f [+ p_f⊙C_{t-1}])
  const Var<T> f = sigmoid(peep(tape, this->gate(pre, forget_gate()), p_f, state.c));
  // g = tanh(W_g x + U_g h_{t-1} + b_g)
  const Var<T> g = tanh(this->gate(pre, cell_gate()));
  // C_t = f⊙C_{t-1} + i⊙g   (coupled: f⊙C_{t-1} + (1-f)⊙g)
  const Var<T> c = f * state.c + admitted(tape, pre, f, g, state.c);
  // o = σ(W_o x + U_o h_{t-1} + b_o [+ p_o⊙C_t])
  const Var<T> o = sigmoid(peep(tape, this->gate(pre, output_gate()), p_o, c));
  // h_t = o⊙tanh(C_t)   (layer_norm: o⊙tanh(LN(C_t)))
  const Var<T> shown = options_.layer_norm ? layer_norm(c, tape.param(*ln_c_gain), tape.param(*ln_c_bias)) : c;
  return {o * tanh(shown), c};
}

template <class T>
std::optional<FusedRun<T>> LSTMCell<T>::run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                                  const RecurrentState<T>& initial) const {
  if (options_.peephole || options_.coupled || options_.layer_norm) return std::nullopt;
  const LSTMSequenceResult<T> r =
      lstm_sequence(projected, initial.h, initial.c, tape.param(this->W_hh), tape.param(this->b_hh), lengths);
  return this->fused_result(r.h, r.c_last, lengths);
}

// ---- GRU ----------------------------------------------------------------------------------

template <class T>
GRUCell<T>::GRUCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const GRUOptions& options)
    : FusedGateCell<T>("GRUCell", input, hidden, hidden, 3, rng), options_(options) {
  if (options_.layer_norm) {
    ln_ih = &this->add_parameter("ln_ih", full<T>({1, 3 * hidden}, T(1)));
    ln_hh = &this->add_parameter("ln_hh", full<T>({1, 3 * hidden}, T(1)));
  }
}

template <class T>
Var<T> GRUCell<T>::project_input(Tape<T>& tape, Var<T> x) const {
  return options_.layer_norm ? this->normalised_input(tape, x, *ln_ih) : FusedGateCell<T>::project_input(tape, x);
}

// The equations of cells.hpp with each recurrent part layer-normalised over its gate.
template <class T>
RecurrentState<T> GRUCell<T>::normalised_step(Tape<T>& tape, Var<T> xp, Var<T> h) const {
  const std::size_t H = this->units();
  const Var<T> U = tape.param(this->W_hh), b = tape.param(this->b_hh), gain = tape.param(*ln_hh);
  auto rows = [](Var<T> v, std::size_t from, std::size_t to) { return slice(v, 0, from, to); };
  auto cols = [](Var<T> v, std::size_t from, std::size_t to) { return slice(v, 1, from, to); };
  Var<T> r, z, n;
  if (options_.reset_after) {
    // [LN(U_r h) | LN(U_z h) | LN(U_n h)] ⊙ gain + b_hh, one GEMM
    const Var<T> rec = this->normalise_gates(tape, matmul(h, U, false, true), gain, b);
    r = sigmoid(this->gate(xp, 0) + this->gate(rec, 0));
    z = sigmoid(this->gate(xp, 1) + this->gate(rec, 1));
    n = tanh(this->gate(xp, 2) + r * this->gate(rec, 2));  // n = tanh(LN(W_n x) + r⊙LN(U_n h))
  } else {
    const Var<T> rz = this->normalise_gates(tape, matmul(h, rows(U, 0, 2 * H), false, true), cols(gain, 0, 2 * H),
                                            cols(b, 0, 2 * H));
    r = sigmoid(this->gate(xp, 0) + this->gate(rz, 0));
    z = sigmoid(this->gate(xp, 1) + this->gate(rz, 1));
    // n = tanh(LN(W_n x) + LN(U_n (r⊙h)))
    n = tanh(this->gate(xp, 2) + this->normalise_gates(tape, matmul(r * h, rows(U, 2 * H, 3 * H), false, true),
                                                       cols(gain, 2 * H, 3 * H), cols(b, 2 * H, 3 * H)));
  }
  // h_t = z⊙h_{t-1} + (1-z)⊙n
  return {z * h + (T(1) - z) * n, Var<T>()};
}

template <class T>
RecurrentState<T> GRUCell<T>::step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const {
  this->check_step(x_projected, state);
  if (options_.layer_norm) return normalised_step(tape, x_projected, state.h);
  // The equations of cells.hpp as one fused op (autograd/ops_rnn.hpp) over one step
  const Var<T> U = tape.param(this->W_hh), b = tape.param(this->b_hh);
  const Var<T> h = options_.reset_after ? gru_sequence(x_projected, state.h, U, b)
                                        : gru_sequence_reset_before(x_projected, state.h, U, b);
  return {h, Var<T>()};
}

template <class T>
std::optional<FusedRun<T>> GRUCell<T>::run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                                 const RecurrentState<T>& initial) const {
  if (options_.layer_norm) return std::nullopt;
  const Var<T> U = tape.param(this->W_hh), b = tape.param(this->b_hh);
  const Var<T> outputs = options_.reset_after ? gru_sequence(projected, initial.h, U, b, lengths)
                                              : gru_sequence_reset_before(projected, initial.h, U, b, lengths);
  return this->fused_result(outputs, Var<T>(), lengths);
}

template class FusedGateCell<float>;
template class FusedGateCell<double>;
template class ElmanCell<float>;
template class ElmanCell<double>;
template class JordanCell<float>;
template class JordanCell<double>;
template class LSTMCell<float>;
template class LSTMCell<double>;
template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace tapenet
