/// @file
/// Recurrent cells. A cell holds only parameters; the sequence state lives in the caller's
/// loop, so `step(x_t, state) -> state` is a pure function of its arguments and one cell
/// can run on many threads at once.
///
/// Every cell computes all its gates with one fused GEMM over concatenated weights, and
/// splits the work in two: `project_input` maps inputs to gate pre-activations (for a whole
/// sequence this is one GEMM over all T·B rows), and `step_projected` adds the recurrent
/// part for one time step.
#pragma once

#include <optional>
#include <vector>

#include "autograd/ops.hpp"
#include "layers/module.hpp"

namespace tapenet {

template <class T>
struct RecurrentState {
  Var<T> h;  ///< [B, H]: the hidden output (for a Jordan cell, the previous output y)
  Var<T> c;  ///< [B, H]: the LSTM memory cell; not valid for other cells
};

/// What a cell's fused whole-sequence path returns (RecurrentCell::run_fused).
template <class T>
struct FusedRun {
  Var<T> outputs;           ///< [T·B, H] time-major, zero at padded positions
  RecurrentState<T> final;  ///< each sequence's state after its last real step
};

template <class T>
class RecurrentCell : public Module<T> {
 public:
  virtual std::size_t input_size() const = 0;
  virtual std::size_t hidden_size() const = 0;
  virtual bool has_cell_state() const { return false; }

  /// x [N, D] -> input part of the gate pre-activations [N, G] (biases included).
  virtual Var<T> project_input(Tape<T>& tape, Var<T> x) const = 0;
  /// One step from projected input rows [B, G] and the previous state.
  virtual RecurrentState<T> step_projected(Tape<T>& tape, Var<T> x_projected, const RecurrentState<T>& state) const = 0;

  /// The whole sequence at once, when the cell has a fused form for it: `projected` [T·B, G]
  /// from project_input, lengths[b] (in 1..T) real steps of sequence b with padding after
  /// them, and the initial state. It must give what unrolling step_projected with the runner's
  /// step mask gives (layers/sequence.hpp), in fewer tape nodes. The default has no fused
  /// form: std::nullopt, and the runner unrolls. A subclass that changes step_projected must
  /// override this too (returning std::nullopt, at least).
  virtual std::optional<FusedRun<T>> run_fused(Tape<T>& tape, Var<T> projected, const std::vector<std::size_t>& lengths,
                                               const RecurrentState<T>& initial) const {
    (void)tape, (void)projected, (void)lengths, (void)initial;
    return std::nullopt;
  }

  /// One step from a raw input x [B, D].
  RecurrentState<T> step(Tape<T>& tape, Var<T> x, const RecurrentState<T>& state) const {
    return step_projected(tape, project_input(tape, x), state);
  }
  /// All-zero state for a batch of B sequences.
  RecurrentState<T> zero_state(Tape<T>& tape, std::size_t batch) const {
    RecurrentState<T> s;
    s.h = tape.constant(zeros<T>({batch, hidden_size()}));
    if (has_cell_state()) s.c = tape.constant(zeros<T>({batch, hidden_size()}));
    return s;
  }
};

}  // namespace tapenet
