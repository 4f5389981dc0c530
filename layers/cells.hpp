/// @file
/// The classic recurrent cells — Elman (1990), Jordan (1986), LSTM (Hochreiter & Schmidhuber
/// 1997, with peephole and coupled-gate variants) and GRU (Cho et al. 2014) — as
/// RecurrentCell<T> implementations.
///
/// One source of truth per cell: where a fused op of autograd/ops_rnn.hpp exists (tanh Elman,
/// plain LSTM, both GRUs) it is the only path, and the equations below are checked against it
/// by tests/test_cells_composed.cpp, which writes them with generic ops; the variants without
/// a fused op (other activations, Jordan, peephole and coupled LSTMs) run those equations
/// composed from generic ops here.
///
/// Every cell stores its gates in PyTorch's layout, G gate blocks of H rows stacked in
/// one matrix, so a whole step costs one fused GEMM for the input part and one for the
/// recurrent part (`slice` along axis 1 then cuts the gate blocks out):
///
/// @code{.unparsed}
///   W_ih [G·H, D]   b_ih [1, G·H]    project_input:  x W_ihᵀ + b_ih
///   W_hh [G·H, R]   b_hh [1, G·H]    step_projected: ... + h W_hhᵀ + b_hh
/// @endcode
///
/// R, the width of the recurrent input, is H except for the Jordan cell. The two biases
/// are redundant (only b_ih + b_hh matters, except in the GRU candidate) but keep the
/// layout of torch.nn.RNN / LSTM / GRU, so their weights import unchanged
/// (layers/pytorch_import.hpp).
///
/// Initialisation: W_ih Glorot-uniform over the whole [G·H, D] matrix (Keras' kernel
/// convention), W_hh orthogonal block by block (each gate's [H, R] block is
/// init::orthogonal), biases zero — except the LSTM forget gate (see LSTMOptions).
///
/// Usage — a loop over time is the unroll:
/// @code
///   std::mt19937_64 rng(0);
///   LSTMCell<float> cell(D, H, rng, LSTMOptions().with_peephole());
///   RecurrentState<float> s = cell.zero_state(tape, B);
///   for (Var<float> x_t : xs) s = cell.step(tape, x_t, s);   // s.h [B, H], s.c [B, H]
/// @endcode
///
/// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <random>
#include <string>

#include "autograd/ops.hpp"
#include "layers/init.hpp"
#include "layers/recurrent.hpp"

namespace tapenet {

/// φ for Elman and Jordan cells.
enum class Activation { Identity, Tanh, Sigmoid, Relu };

const char* activation_name(Activation a);

template <class T>
Var<T> apply_activation(Var<T> x, Activation a) {
  switch (a) {
    case Activation::Tanh: return tanh(x);
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::Relu: return relu(x);
    case Activation::Identity: break;
  }
  return x;
}

/// The shared part of every cell: the fused weights above and the two projections.
template <class T>
class FusedGateCell : public RecurrentCell<T> {
 public:
  std::size_t input_size() const override { return W_ih.value.shape()[1]; }
  /// H: the rows of one gate block.
  std::size_t units() const { return units_; }
  /// G: the number of gate blocks.
  std::size_t gate_count() const { return gates_; }
  /// R: the width of the recurrent input h (the columns of W_hh).
  std::size_t recurrent_size() const { return W_hh.value.shape()[1]; }
  /// "LSTMCell", ... (for error messages).
  const std::string& cell_name() const { return name_; }

  /// x [N, D] -> x W_ihᵀ + b_ih [N, G·H]: one GEMM over all N rows (all T·B rows of a sequence).
  Var<T> project_input(Tape<T>& tape, Var<T> x) const override;

  Parameter<T>& W_ih;
  Parameter<T>& W_hh;
  Parameter<T>& b_ih;
  Parameter<T>& b_hh;

 protected:
  FusedGateCell(std::string name, std::size_t input, std::size_t recurrent, std::size_t units,
                std::size_t gates, std::mt19937_64& rng);

  /// h [B, R] -> h W_hhᵀ + b_hh [B, G·H]: one GEMM for all gates.
  Var<T> project_recurrent(Tape<T>& tape, Var<T> h) const;
  /// A fused sequence op's outputs [T·B, H] (and, for the LSTM, its c_last) as a FusedRun.
  FusedRun<T> fused_result(Var<T> outputs, Var<T> c_last, const std::vector<std::size_t>& lengths) const;
  /// Gate block k of a [B, G·H] pre-activation -> [B, H].
  Var<T> gate(Var<T> pre, std::size_t k) const { return slice(pre, 1, k * units_, (k + 1) * units_); }
  /// Layer normalisation of each H-wide gate block of pre [N, G·H] over its own units, then
  /// ⊙ gain + bias (both [1, G·H]).
  Var<T> normalise_gates(Tape<T>& tape, Var<T> pre, Var<T> gain, Var<T> bias) const;
  /// x [N, D] -> LN(x W_ihᵀ) ⊙ gain + b_ih per gate: the layer-normalised input projection.
  Var<T> normalised_input(Tape<T>& tape, Var<T> x, Parameter<T>& gain) const;
  /// Throws ShapeError unless x_projected is [B, G·H], h is [B, R] and, for cells with a
  /// memory cell, c is [B, H].
  void check_step(Var<T> x_projected, const RecurrentState<T>& state) const;

 private:
  std::string name_;
  std::size_t units_;
  std::size_t gates_;
};

// ---- Elman ----------------------------------------------------------------------------

struct ElmanOptions {
  Activation activation = Activation::Tanh;

  ElmanOptions& with_activation(Activation a) { activation = a; return *this; }
};

/// The Elman RNN (Elman 1990), h_t = φ(W h_{t-1} + U x_t + b), with U = W_ih [H, D],
/// W = W_hh [H, H] and b = b_ih + b_hh (G = 1). torch.nn.RNN with nonlinearity tanh or
/// relu is this cell; tanh runs as the fused elman_tanh_sequence.
template <class T>
class ElmanCell : public FusedGateCell<T> {
 public:
  ElmanCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const ElmanOptions& options = {});

  std::size_t hidden_size() const override { return this->units(); }
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const override;
  std::optional<FusedRun<T>> run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                       const RecurrentState<T>& initial) const override;
  const ElmanOptions& options() const { return options_; }

 private:
  ElmanOptions options_;
};

// ---- Jordan ---------------------------------------------------------------------------

struct JordanOptions {
  std::size_t output_size = 0;  ///< O; 0 means O = H
  Activation activation = Activation::Tanh;            ///< φ of the hidden layer
  Activation output_activation = Activation::Identity;  ///< φ_out of the output layer

  JordanOptions& with_output_size(std::size_t o) { output_size = o; return *this; }
  JordanOptions& with_activation(Activation a) { activation = a; return *this; }
  JordanOptions& with_output_activation(Activation a) { output_activation = a; return *this; }
};

/// The output-to-hidden recurrence of Jordan (1986): the hidden layer sees the previous
/// OUTPUT, never the previous hidden layer,
/// @code{.unparsed}
///   a_t = φ(W_x x_t + W_y y_{t-1} + b)      W_x = W_ih [H, D], W_y = W_hh [H, O], b = b_ih + b_hh
///   y_t = φ_out(V a_t + c)                  V [O, H], c [1, O]
/// @endcode
/// Roles: the state carried between steps is the OUTPUT y_t, so in the RecurrentCell
/// protocol state.h holds y_t (read it with output()) and hidden_size() is its width O
/// (= output_size()); the hidden layer a_t has hidden_layer_size() = H units and is not
/// carried. With V = I, c = 0 and φ_out = identity the output IS the activation and the
/// cell coincides with an Elman cell; the output layer is what makes the recurrence go
/// through the output.
template <class T>
class JordanCell : public FusedGateCell<T> {
 public:
  JordanCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const JordanOptions& options = {});

  /// The protocol's width of state.h, which is y: O (see the roles above).
  std::size_t hidden_size() const override { return output_size(); }
  /// O, the width of y_t.
  std::size_t output_size() const { return V.value.shape()[0]; }
  /// H, the width of the hidden layer a_t (= units()).
  std::size_t hidden_layer_size() const { return this->units(); }
  /// y_t of a state this cell produced or consumes (the protocol's state.h).
  static Var<T> output(const RecurrentState<T>& state) { return state.h; }
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const override;
  const JordanOptions& options() const { return options_; }

  Parameter<T>& V;
  Parameter<T>& c;

 private:
  JordanOptions options_;
};

// ---- LSTM -----------------------------------------------------------------------------

struct LSTMOptions {
  /// The forget gate's bias starts at 1 (Gers et al. 2000; Jozefowicz et al. 2015): the
  /// 1 sits in b_ih's f block, b_hh stays zero. Off: all biases zero.
  bool unit_forget_bias = true;
  /// Gers & Schmidhuber (2000): i and f also see C_{t-1}, o sees C_t, through diagonal
  /// weights p_i, p_f, p_o [1, H] (initialised to zero, i.e. a plain LSTM at first).
  bool peephole = false;
  /// Coupled input and forget gates: C_t = f⊙C_{t-1} + (1-f)⊙g, no i gate.
  bool coupled = false;
  /// Layer normalisation (Ba et al. 2016): each gate's input part and recurrent part are
  /// normalised over the gate's H units (LN(W x), LN(U h), gains ln_ih/ln_hh, biases b_ih/b_hh),
  /// and so is C_t before the output tanh: h_t = o⊙tanh(LN(C_t)) (ln_c_gain, ln_c_bias).
  bool layer_norm = false;

  LSTMOptions& with_unit_forget_bias(bool v = true) { unit_forget_bias = v; return *this; }
  LSTMOptions& with_peephole(bool v = true) { peephole = v; return *this; }
  LSTMOptions& with_coupled(bool v = true) { coupled = v; return *this; }
  LSTMOptions& with_layer_norm(bool v = true) { layer_norm = v; return *this; }
};

/// Gate blocks, in PyTorch's order: i, f, g, o (G = 4); coupled: f, g, o (G = 3, the i
/// block is dropped and the others keep their relative order).
/// @code{.unparsed}
///   i = σ(W_i x + U_i h_{t-1} + b_i [+ p_i⊙C_{t-1}])
///   f = σ(W_f x + U_f h_{t-1} + b_f [+ p_f⊙C_{t-1}])
///   g = tanh(W_g x + U_g h_{t-1} + b_g)
///   C_t = f⊙C_{t-1} + i⊙g            (coupled: f⊙C_{t-1} + (1-f)⊙g)
///   o = σ(W_o x + U_o h_{t-1} + b_o [+ p_o⊙C_t])
///   h_t = o⊙tanh(C_t)
/// @endcode
/// (W = W_ih, U = W_hh, b = b_ih + b_hh, each cut into its gate block.) state.c is C.
/// The plain LSTM runs as the fused lstm_sequence; peephole, coupled and layer-normalised
/// ones run these equations composed from generic ops.
template <class T>
class LSTMCell : public FusedGateCell<T> {
 public:
  LSTMCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const LSTMOptions& options = {});

  std::size_t hidden_size() const override { return this->units(); }
  bool has_cell_state() const override { return true; }
  Var<T> project_input(Tape<T>& tape, Var<T> x) const override;
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const override;
  std::optional<FusedRun<T>> run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                       const RecurrentState<T>& initial) const override;
  const LSTMOptions& options() const { return options_; }

  /// Block index of each gate in the fused weights; input_gate is -1 when coupled.
  int input_gate() const { return options_.coupled ? -1 : 0; }
  std::size_t forget_gate() const { return options_.coupled ? 0 : 1; }
  std::size_t cell_gate() const { return forget_gate() + 1; }
  std::size_t output_gate() const { return forget_gate() + 2; }

  /// Peephole weights; null unless options().peephole (p_i also null when coupled).
  Parameter<T>* p_i = nullptr;
  Parameter<T>* p_f = nullptr;
  Parameter<T>* p_o = nullptr;
  /// Layer-normalisation gains and the cell's bias; null unless options().layer_norm.
  Parameter<T>* ln_ih = nullptr;      ///< [1, G·H]
  Parameter<T>* ln_hh = nullptr;      ///< [1, G·H]
  Parameter<T>* ln_c_gain = nullptr;  ///< [H]
  Parameter<T>* ln_c_bias = nullptr;  ///< [H]

 private:
  // pre + p⊙C when the peephole p exists, else pre.
  Var<T> peep(Tape<T>& tape, Var<T> pre, Parameter<T>* p, Var<T> c) const;
  // i⊙g, or (1-f)⊙g when coupled.
  Var<T> admitted(Tape<T>& tape, Var<T> pre, Var<T> f, Var<T> g, Var<T> c_prev) const;

  LSTMOptions options_;
};

// ---- GRU ------------------------------------------------------------------------------

struct GRUOptions {
  /// false (default): the candidate of Cho et al. (2014), which resets h BEFORE the
  /// recurrent product (Keras reset_after=False). true: PyTorch's / cuDNN's candidate,
  /// which resets AFTER it — the semantics of torch.nn.GRU.
  bool reset_after = false;
  /// Layer normalisation (Ba et al. 2016) of each gate's input part W x and recurrent part
  /// (U_rz h, and U_n (r⊙h) or U_n h), over the gate's H units, gains ln_ih/ln_hh, biases
  /// b_ih/b_hh; composed from generic ops (no fused form).
  bool layer_norm = false;

  GRUOptions& with_reset_after(bool v = true) { reset_after = v; return *this; }
  GRUOptions& with_layer_norm(bool v = true) { layer_norm = v; return *this; }
};

/// Gate blocks in PyTorch's order r, z, n (G = 3); W = W_ih, U = W_hh cut into blocks.
/// @code{.unparsed}
///   r = σ(W_r x + b_ir + U_r h_{t-1} + b_hr)          reset gate
///   z = σ(W_z x + b_iz + U_z h_{t-1} + b_hz)          update gate
///   n = tanh(W_n x + b_in + U_n (r⊙h_{t-1}) + b_hn)   candidate      (default)
///   n = tanh(W_n x + b_in + r⊙(U_n h_{t-1} + b_hn))   candidate      (reset_after)
///   h_t = z⊙h_{t-1} + (1-z)⊙n
/// @endcode
/// Both run as fused ops only: gru_sequence_reset_before (default) and gru_sequence
/// (reset_after). Default: U_n multiplies r⊙h, which needs r first, so the recurrent GEMM is
/// split in two — one for the r and z blocks (rows [0, 2H) of W_hh), one for the n block
/// (rows [2H, 3H)). reset_after: all three recurrent blocks come from one GEMM.
template <class T>
class GRUCell : public FusedGateCell<T> {
 public:
  GRUCell(std::size_t input, std::size_t hidden, std::mt19937_64& rng, const GRUOptions& options = {});

  std::size_t hidden_size() const override { return this->units(); }
  Var<T> project_input(Tape<T>& tape, Var<T> x) const override;
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const override;
  std::optional<FusedRun<T>> run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                       const RecurrentState<T>& initial) const override;
  const GRUOptions& options() const { return options_; }

  /// Layer-normalisation gains; null unless options().layer_norm.
  Parameter<T>* ln_ih = nullptr;  ///< [1, 3H]
  Parameter<T>* ln_hh = nullptr;  ///< [1, 3H]

 private:
  RecurrentState<T> normalised_step(Tape<T>& tape, Var<T> x_projected, Var<T> h) const;
  GRUOptions options_;
};

}  // namespace tapenet
