/// @file
/// Running recurrent cells over a padded batch of sequences: one runner, stacked layers and
/// bidirectional layers. The cells themselves stay pure functions of (input, state)
/// (layers/recurrent.hpp); everything about time, padding and direction lives here.
///
/// Layout. A batch of B sequences of up to T steps is time-major: one Var [T·B, D] whose
/// rows t·B .. t·B+B-1 are step t, or a vector of T Vars [B, D]. lengths[b] (0..T) is
/// example b's real length; an empty `lengths` means every example has all T steps. The
/// input projection runs once over all T·B rows (one GEMM); each step then adds only the
/// recurrent part, `cell.step_projected` on the B rows of step t.
///
/// Padding. With the constant mask m_t = [t < lengths[b]] ([B, 1], one row per example),
/// @code{.unparsed}
///   h̃_t = cell(x_t, h_{t-1})
///   out_t = m_t ⊙ h̃_t                       (padded outputs are exactly zero)
///   h_t = out_t + (1 - m_t) ⊙ h_{t-1}       (padded steps carry the state; c likewise)
/// @endcode
/// so padded steps add nothing to any loss, the inputs at padded positions receive a
/// gradient of exactly zero, and the final state is each example's state after its own
/// last real step. Steps where every example is real skip the blend; steps where none is
/// skip the cell (their outputs are zero constants).
///
/// The three input/output shapes of a recurrent model, each a 3-line pattern (readout: a Linear):
/// @code
///   many-to-one (one label per sequence, e.g. sentiment):
///     SequenceOutput<float> run = run_sequence(tape, cell, x, B, lengths);
///     Var<float> logits = readout.forward(tape, run.final.h);          // [B, C]
///     Var<float> loss = cross_entropy(logits, labels);
///   many-to-many, synced (one target per input step, e.g. tagging or a language model):
///     SequenceOutput<float> run = run_sequence(tape, cell, x, B, lengths);
///     Var<float> logits = readout.forward(tape, concat_outputs(run.outputs));  // [T·B, C]
///     Var<float> loss = cross_entropy(logits, targets);  // time-major; -100 at padded steps
///   one-to-many (generation; see layers/generate.hpp):
///     DecoderStep<float> step = cell_decoder(cell, token_io(embedding, readout));
///     DecodeResult<float> r = decode(tape, step, {}, start, gold, DecodeOptions().with_teacher_forcing(p), &rng);
///     std::vector<std::int64_t> ids = generate(step, prime, 200, rng);   // free-running, no gradients
/// @endcode
/// A padded step's output is zero but a readout's bias is not: mark padded targets with the
/// loss's ignore_index (the default -100), never with a real class.
///
/// Bidirectional layers read each example backwards from its OWN last real step (not from
/// the end of the padded batch), and their outputs are put back at the original time
/// positions, so out_t = [forward h_t | backward h_t] for every real t.
///
/// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "autograd/ops.hpp"
#include "layers/module.hpp"
#include "layers/recurrent.hpp"

namespace tapenet {

/// Keeps T from being deduced from a parameter, so that a RecurrentState converts to the
/// optional and a lambda to the std::function (T comes from the tape).
template <class T>
struct NonDeduced {
  using type = T;
};
template <class T>
using non_deduced_t = typename NonDeduced<T>::type;

template <class T>
struct SequenceOutput {
  std::vector<Var<T>> outputs;  ///< T entries [B, H]; zero at padded steps
  RecurrentState<T> final;      ///< each example's state after its own last real step
};

/// Forward reads t = 0 .. len-1; Reverse reads each example from t = len-1 down to 0 and
/// returns its outputs at the original positions (out_t is the state after reading x_t).
enum class Direction { Forward, Reverse };

/// Runs `cell` over the time-major inputs [T·B, D] (T = rows / batch). `initial` defaults
/// to cell.zero_state(B). Throws ShapeError on inconsistent shapes or lengths.
template <class T>
SequenceOutput<T> run_sequence(Tape<T>& tape, const RecurrentCell<T>& cell, Var<T> inputs, std::size_t batch,
                               const std::vector<std::size_t>& lengths = {},
                               const std::optional<RecurrentState<non_deduced_t<T>>>& initial = std::nullopt,
                               Direction direction = Direction::Forward);
/// The same over T Vars [B, D] (concatenated first, so the projection is still one GEMM).
template <class T>
SequenceOutput<T> run_sequence(Tape<T>& tape, const RecurrentCell<T>& cell, const std::vector<Var<T>>& inputs,
                               const std::vector<std::size_t>& lengths = {},
                               const std::optional<RecurrentState<non_deduced_t<T>>>& initial = std::nullopt,
                               Direction direction = Direction::Forward);

/// T Vars [B, F] -> one Var [T·B, F], time-major (the inverse of split_steps).
template <class T>
Var<T> concat_outputs(const std::vector<Var<T>>& outputs);
/// [T·B, F] -> T Vars [B, F].
template <class T>
std::vector<Var<T>> split_steps(Var<T> x, std::size_t batch);

/// The mask of step t, [B, 1]: 1 where t < lengths[b], else 0.
template <class T>
Tensor<T> step_mask(const std::vector<std::size_t>& lengths, std::size_t t);

// ---- bidirectional ----------------------------------------------------------------------

template <class T>
struct BidirectionalOutput {
  std::vector<Var<T>> outputs;       ///< T entries [B, 2H]: [forward | backward] at each position
  RecurrentState<T> forward_final;   ///< after each example's last real step
  RecurrentState<T> backward_final;  ///< after reading x_0 (the reverse pass ends there)
  /// [forward_final.h | backward_final.h], [B, 2H]: the many-to-one summary.
  Var<T> final_h() const { return concat(std::vector<Var<T>>{forward_final.h, backward_final.h}, 1); }
};

template <class T>
BidirectionalOutput<T> run_bidirectional(Tape<T>& tape, const RecurrentCell<T>& forward_cell,
                                         const RecurrentCell<T>& backward_cell, Var<T> inputs, std::size_t batch,
                                         const std::vector<std::size_t>& lengths = {},
                                         const std::optional<RecurrentState<non_deduced_t<T>>>& forward_initial = std::nullopt,
                                         const std::optional<RecurrentState<non_deduced_t<T>>>& backward_initial = std::nullopt);

/// Builds one cell of a layer: (input size, hidden size) -> cell. E.g.
/// @code
///   [&](std::size_t in, std::size_t h) { return std::make_unique<LSTMCell<float>>(in, h, rng); }
/// @endcode
template <class T>
using CellFactory = std::function<std::unique_ptr<RecurrentCell<T>>(std::size_t input, std::size_t hidden)>;

/// A bidirectional layer as a module: parameters "forward.*" and "backward.*".
template <class T>
class BidirectionalRNN : public Module<T> {
 public:
  BidirectionalRNN(std::size_t input, std::size_t hidden, const CellFactory<T>& make);
  BidirectionalOutput<T> forward(Tape<T>& tape, Var<T> inputs, std::size_t batch,
                                 const std::vector<std::size_t>& lengths = {}) const;
  const RecurrentCell<T>& forward_cell() const { return *forward_; }
  const RecurrentCell<T>& backward_cell() const { return *backward_; }
  std::size_t hidden_size() const { return forward_->hidden_size(); }

 private:
  std::unique_ptr<RecurrentCell<T>> forward_;
  std::unique_ptr<RecurrentCell<T>> backward_;
};

// ---- stacked layers ------------------------------------------------------------------------

template <class T>
struct StackedOptions {
  std::size_t layers = 1;
  bool bidirectional = false;  ///< each layer reads both ways; layers k > 0 then see 2H inputs
  /// Dropout on the INPUTS of layers 1 .. L-1 (the outputs of the layer below), in training
  /// mode only; never on the input of layer 0 nor on the top layer's outputs, nor on the
  /// recurrent connections h_{t-1} (drop embeddings / outputs yourself if you want to).
  double dropout = 0;
  /// Variational ("tied") dropout (Gal & Ghahramani 2016): one mask per sequence per layer,
  /// [B, F], reused at every time step, instead of a fresh mask at every step.
  bool variational = false;

  StackedOptions& with_layers(std::size_t n) { layers = n; return *this; }
  StackedOptions& with_bidirectional(bool v = true) { bidirectional = v; return *this; }
  StackedOptions& with_dropout(double p, bool tied = false) { dropout = p; variational = tied; return *this; }
};

template <class T>
struct StackedOutput {
  std::vector<Var<T>> outputs;           ///< top layer: T entries [B, H·directions]
  std::vector<RecurrentState<T>> final;  ///< final[l·directions + d], d = 0 forward, 1 backward
  std::size_t directions = 1;
  /// The top layer's final h, directions concatenated: [B, H·directions] (many-to-one).
  Var<T> final_h() const;
};

/// L layers of cells built by `make` (layer 0: (D, H); others: (H·directions, H)).
/// Parameters are "l0.*", "l0_reverse.*", "l1.*", ... (PyTorch's suffixes).
template <class T>
class StackedRNN : public Module<T> {
 public:
  StackedRNN(std::size_t input, std::size_t hidden, const CellFactory<T>& make, const StackedOptions<T>& options = {});

  /// inputs [T·B, D] time-major. `initial` is empty (zero states) or one state per cell in
  /// the order of StackedOutput::final. `rng` draws the dropout masks in training mode; it is
  /// required then when options().dropout > 0 (std::invalid_argument otherwise).
  StackedOutput<T> forward(Tape<T>& tape, Var<T> inputs, std::size_t batch, const std::vector<std::size_t>& lengths = {},
                           const std::vector<RecurrentState<T>>& initial = {}, std::mt19937_64* rng = nullptr) const;
  StackedOutput<T> forward(Tape<T>& tape, const std::vector<Var<T>>& inputs, const std::vector<std::size_t>& lengths = {},
                           const std::vector<RecurrentState<T>>& initial = {}, std::mt19937_64* rng = nullptr) const;

  /// One time step of a unidirectional stack, x [B, D] -> top h [B, H], for decoders and
  /// generation; `states` (one per layer; empty means zero) is advanced in place. Dropout
  /// between layers is drawn fresh at each call (not tied), as a step cannot know the
  /// sequence.
  Var<T> step(Tape<T>& tape, Var<T> x, std::vector<RecurrentState<T>>& states, std::mt19937_64* rng = nullptr) const;

  const RecurrentCell<T>& cell(std::size_t layer, std::size_t direction = 0) const {
    return *cells_.at(layer * directions() + direction);
  }
  std::size_t layers() const { return options_.layers; }
  std::size_t directions() const { return options_.bidirectional ? 2 : 1; }
  std::size_t hidden_size() const { return cells_.front()->hidden_size(); }
  std::size_t output_size() const { return hidden_size() * directions(); }
  const StackedOptions<T>& options() const { return options_; }

 private:
  StackedOptions<T> options_;
  std::vector<std::unique_ptr<RecurrentCell<T>>> cells_;
};

/// A [T·B, F] inverted-dropout mask that repeats one [B, F] Bernoulli(1 - p) / (1 - p)
/// mask at every step: the mask of variational dropout.
template <class T>
Tensor<T> tied_dropout_mask(std::size_t steps, std::size_t batch, std::size_t features, double p, std::mt19937_64& rng);

}  // namespace tapenet
