#include "layers/sequence.hpp"

#include <algorithm>
#include <string>

#include "autograd/ops_rnn.hpp"
#include "layers/basic.hpp"
#include "layers/cells.hpp"

namespace tapenet {

namespace {

// The checked geometry of one time-major batch.
struct Batch {
  std::size_t steps = 0, batch = 0;
  std::vector<std::size_t> lengths;  // filled in: never empty
  std::size_t min_len = 0, max_len = 0;
};

Batch check_batch(const char* op, std::size_t rows, std::size_t batch, const std::vector<std::size_t>& lengths) {
  if (batch == 0) throw ShapeError(op, "batch size must be positive");
  if (rows == 0 || rows % batch != 0)
    throw ShapeError(op, std::to_string(rows) + " input rows are not T·B rows for B = " + std::to_string(batch));
  Batch b;
  b.steps = rows / batch;
  b.batch = batch;
  if (lengths.empty()) {
    b.lengths.assign(batch, b.steps);
  } else {
    if (lengths.size() != batch)
      throw ShapeError(op, std::to_string(lengths.size()) + " lengths for a batch of " + std::to_string(batch));
    for (std::size_t i = 0; i < batch; ++i)
      if (lengths[i] > b.steps)
        throw ShapeError(op, "length " + std::to_string(lengths[i]) + " of example " + std::to_string(i) +
                                 " exceeds the " + std::to_string(b.steps) + " steps of the batch");
    b.lengths = lengths;
  }
  b.min_len = *std::min_element(b.lengths.begin(), b.lengths.end());
  b.max_len = *std::max_element(b.lengths.begin(), b.lengths.end());
  return b;
}

template <class T>
void check_inputs(const char* op, const RecurrentCell<T>& cell, Var<T> inputs) {
  if (inputs.ndim() != 2 || inputs.dim(1) != cell.input_size())
    throw ShapeError(op, "inputs " + shape_str(inputs.shape()) + " for a cell of input size " +
                             std::to_string(cell.input_size()) + " (expected [T·B, " +
                             std::to_string(cell.input_size()) + "])");
}

template <class T>
RecurrentState<T> initial_state(const char* op, Tape<T>& tape, const RecurrentCell<T>& cell, std::size_t batch,
                                const std::optional<RecurrentState<T>>& initial) {
  if (!initial) return cell.zero_state(tape, batch);
  const Shape want{batch, cell.hidden_size()};
  if (!initial->h.valid() || to_shape(initial->h.shape()) != want)
    throw ShapeError(op, "initial h " + (initial->h.valid() ? shape_str(initial->h.shape()) : std::string("missing")) +
                             ", expected " + shape_str(want));
  if (cell.has_cell_state() && (!initial->c.valid() || to_shape(initial->c.shape()) != want))
    throw ShapeError(op, "initial c " + (initial->c.valid() ? shape_str(initial->c.shape()) : std::string("missing")) +
                             ", expected " + shape_str(want));
  return *initial;
}

// Row t·B + b of the reversed batch reads row (len_b - 1 - t)·B + b for t < len_b and
// itself (padding) otherwise. The map is its own inverse, so the same rows put the
// reversed outputs back at their original positions.
std::vector<std::int64_t> reversed_rows(const Batch& b) {
  std::vector<std::int64_t> rows(b.steps * b.batch);
  for (std::size_t t = 0; t < b.steps; ++t)
    for (std::size_t j = 0; j < b.batch; ++j) {
      const std::size_t len = b.lengths[j];
      const std::size_t src = t < len ? (len - 1 - t) : t;
      rows[t * b.batch + j] = static_cast<std::int64_t>(src * b.batch + j);
    }
  return rows;
}

// One direction over one layer. A forward pass fills `steps`; a reverse pass fills
// `matrix` (its outputs realigned to the original time positions, [T·B, H]).
template <class T>
struct Pass {
  std::vector<Var<T>> steps;
  Var<T> matrix;
  RecurrentState<T> final;

  Var<T> as_matrix() const { return matrix.valid() ? matrix : concat(steps, 0); }
  std::vector<Var<T>> as_steps(std::size_t batch) const { return steps.empty() ? split_steps(matrix, batch) : steps; }
};

// The whole layer as one fused op when the cell has one (RecurrentCell::run_fused: the plain
// Elman-tanh, LSTM and GRU cells, padded batches included): the same equations as
// step_projected, with one node instead of ~15 per step and one weight-gradient GEMM over all
// T·B rows. Returns false when it does not apply.
template <class T>
bool run_fused(Tape<T>& tape, const RecurrentCell<T>& cell, Var<T> projected, const Batch& b,
               const RecurrentState<T>& state, Pass<T>& pass) {
  if (b.min_len == 0) return false;  // an empty sequence keeps its initial state: unrolled
  std::optional<FusedRun<T>> run = cell.run_fused(tape, projected, b.lengths, state);
  if (!run) return false;
  pass.matrix = run->outputs;
  pass.final = run->final;
  return true;
}

// The time loop over projected inputs [T·B, G] (see the header for the masking).
template <class T>
Pass<T> run_projected(Tape<T>& tape, const RecurrentCell<T>& cell, Var<T> projected, const Batch& b,
                      RecurrentState<T> state) {
  Pass<T> pass;
  if (run_fused(tape, cell, projected, b, state, pass)) return pass;
  const std::size_t B = b.batch;
  Var<T> zero_output;  // shared by the steps after every example has ended
  for (std::size_t t = 0; t < b.steps; ++t) {
    if (t >= b.max_len) {
      if (!zero_output.valid()) zero_output = tape.constant(zeros<T>({B, cell.hidden_size()}));
      pass.steps.push_back(zero_output);
      continue;
    }
    // h̃_t = cell(x_t, h_{t-1})
    RecurrentState<T> next = cell.step_projected(tape, slice(projected, 0, t * B, (t + 1) * B), state);
    if (t < b.min_len) {  // every example is real at this step
      pass.steps.push_back(next.h);
      state = next;
      continue;
    }
    const Tensor<T> keep = step_mask<T>(b.lengths, t);
    const Tensor<T> hold = T(1) - keep;
    // out_t = m_t ⊙ h̃_t;  h_t = out_t + (1 - m_t) ⊙ h_{t-1}
    Var<T> out = mask_mul(next.h, keep);
    state.h = out + mask_mul(state.h, hold);
    // c_t = m_t ⊙ c̃_t + (1 - m_t) ⊙ c_{t-1}
    if (next.c.valid()) state.c = mask_mul(next.c, keep) + mask_mul(state.c, hold);
    pass.steps.push_back(out);
  }
  pass.final = state;
  return pass;
}

template <class T>
Pass<T> run_pass(Tape<T>& tape, const RecurrentCell<T>& cell, Var<T> inputs, const Batch& b,
                 const std::optional<RecurrentState<T>>& initial, Direction direction) {
  const char* op = direction == Direction::Forward ? "run_sequence" : "run_sequence (reverse)";
  check_inputs(op, cell, inputs);
  RecurrentState<T> state = initial_state(op, tape, cell, b.batch, initial);
  if (direction == Direction::Forward) return run_projected(tape, cell, cell.project_input(tape, inputs), b, state);
  const std::vector<std::int64_t> rows = reversed_rows(b);
  Pass<T> pass = run_projected(tape, cell, cell.project_input(tape, gather_rows(inputs, rows)), b, state);
  pass.matrix = gather_rows(pass.as_matrix(), rows);
  pass.steps.clear();
  return pass;
}

}  // namespace

template <class T>
Tensor<T> step_mask(const std::vector<std::size_t>& lengths, std::size_t t) {
  Tensor<T> m = Tensor<T>::from_shape({lengths.size(), std::size_t(1)});
  for (std::size_t b = 0; b < lengths.size(); ++b) m(b, 0) = t < lengths[b] ? T(1) : T(0);
  return m;
}

template <class T>
Var<T> concat_outputs(const std::vector<Var<T>>& outputs) {
  if (outputs.empty()) throw ShapeError("concat_outputs", "no steps");
  return outputs.size() == 1 ? outputs[0] : concat(outputs, 0);
}

template <class T>
std::vector<Var<T>> split_steps(Var<T> x, std::size_t batch) {
  if (x.ndim() != 2 || batch == 0 || x.dim(0) % batch != 0)
    throw ShapeError("split_steps", shape_str(x.shape()) + " is not [T·B, F] for B = " + std::to_string(batch));
  std::vector<Var<T>> steps;
  steps.reserve(x.dim(0) / batch);
  for (std::size_t r = 0; r < x.dim(0); r += batch) steps.push_back(slice(x, 0, r, r + batch));
  return steps;
}

template <class T>
SequenceOutput<T> run_sequence(Tape<T>& tape, const RecurrentCell<T>& cell, Var<T> inputs, std::size_t batch,
                               const std::vector<std::size_t>& lengths,
                               const std::optional<RecurrentState<non_deduced_t<T>>>& initial, Direction direction) {
  if (inputs.ndim() != 2) throw ShapeError("run_sequence", "inputs must be [T·B, D], got " + shape_str(inputs.shape()));
  const Batch b = check_batch("run_sequence", inputs.dim(0), batch, lengths);
  Pass<T> pass = run_pass(tape, cell, inputs, b, initial, direction);
  return {pass.as_steps(batch), pass.final};
}

template <class T>
SequenceOutput<T> run_sequence(Tape<T>& tape, const RecurrentCell<T>& cell, const std::vector<Var<T>>& inputs,
                               const std::vector<std::size_t>& lengths,
                               const std::optional<RecurrentState<non_deduced_t<T>>>& initial, Direction direction) {
  if (inputs.empty()) throw ShapeError("run_sequence", "no steps");
  if (inputs[0].ndim() != 2) throw ShapeError("run_sequence", "steps must be [B, D], got " + shape_str(inputs[0].shape()));
  return run_sequence(tape, cell, concat_outputs(inputs), inputs[0].dim(0), lengths, initial, direction);
}

template <class T>
BidirectionalOutput<T> run_bidirectional(Tape<T>& tape, const RecurrentCell<T>& forward_cell,
                                         const RecurrentCell<T>& backward_cell, Var<T> inputs, std::size_t batch,
                                         const std::vector<std::size_t>& lengths,
                                         const std::optional<RecurrentState<non_deduced_t<T>>>& forward_initial,
                                         const std::optional<RecurrentState<non_deduced_t<T>>>& backward_initial) {
  if (inputs.ndim() != 2)
    throw ShapeError("run_bidirectional", "inputs must be [T·B, D], got " + shape_str(inputs.shape()));
  const Batch b = check_batch("run_bidirectional", inputs.dim(0), batch, lengths);
  Pass<T> fwd = run_pass(tape, forward_cell, inputs, b, forward_initial, Direction::Forward);
  Pass<T> bwd = run_pass(tape, backward_cell, inputs, b, backward_initial, Direction::Reverse);
  // out_t = [forward h_t | backward h_t]
  Var<T> both = concat(std::vector<Var<T>>{fwd.as_matrix(), bwd.matrix}, 1);
  return {split_steps(both, batch), fwd.final, bwd.final};
}

// ---- BidirectionalRNN -----------------------------------------------------------------------

template <class T>
BidirectionalRNN<T>::BidirectionalRNN(std::size_t input, std::size_t hidden, const CellFactory<T>& make)
    : forward_(make(input, hidden)), backward_(make(input, hidden)) {
  if (!forward_ || !backward_) throw std::invalid_argument("BidirectionalRNN: the cell factory returned null");
  if (forward_->hidden_size() != backward_->hidden_size())
    throw std::invalid_argument("BidirectionalRNN: forward and backward cells differ in hidden size");
  this->add_module("forward", *forward_);
  this->add_module("backward", *backward_);
}

template <class T>
BidirectionalOutput<T> BidirectionalRNN<T>::forward(Tape<T>& tape, Var<T> inputs, std::size_t batch,
                                                    const std::vector<std::size_t>& lengths) const {
  return run_bidirectional(tape, *forward_, *backward_, inputs, batch, lengths);
}

// ---- StackedRNN ---------------------------------------------------------------------------------

template <class T>
Tensor<T> tied_dropout_mask(std::size_t steps, std::size_t batch, std::size_t features, double rate,
                            std::mt19937_64& rng) {
  const T p = static_cast<T>(rate);  // the rate as the dropout op sees it, so both draw alike
  if (!(p >= 0 && p < 1)) throw std::invalid_argument("tied_dropout_mask: p must be in [0, 1), got " + std::to_string(rate));
  std::bernoulli_distribution keep(1.0 - static_cast<double>(p));
  const T scale = T(1) / (T(1) - p);
  std::vector<T> one(batch * features);
  for (auto& m : one) m = keep(rng) ? scale : T(0);
  Tensor<T> mask = Tensor<T>::from_shape({steps * batch, features});
  for (std::size_t t = 0; t < steps; ++t) std::copy(one.begin(), one.end(), mask.data() + t * one.size());
  return mask;
}

template <class T>
Var<T> StackedOutput<T>::final_h() const {
  if (final.empty()) throw ShapeError("StackedOutput::final_h", "no final states");
  if (directions == 1) return final.back().h;
  return concat(std::vector<Var<T>>{final[final.size() - 2].h, final.back().h}, 1);
}

template <class T>
StackedRNN<T>::StackedRNN(std::size_t input, std::size_t hidden, const CellFactory<T>& make,
                          const StackedOptions<T>& options)
    : options_(options) {
  if (options_.layers == 0) throw std::invalid_argument("StackedRNN: needs at least one layer");
  if (!(options_.dropout >= 0 && options_.dropout < 1))
    throw std::invalid_argument("StackedRNN: dropout must be in [0, 1), got " + std::to_string(options_.dropout));
  const std::size_t dirs = directions();
  std::size_t in = input;
  for (std::size_t l = 0; l < options_.layers; ++l) {
    for (std::size_t d = 0; d < dirs; ++d) {
      auto cell = make(in, hidden);
      if (!cell) throw std::invalid_argument("StackedRNN: the cell factory returned null");
      if (cell->input_size() != in)
        throw std::invalid_argument("StackedRNN: layer " + std::to_string(l) + " cell has input size " +
                                    std::to_string(cell->input_size()) + ", expected " + std::to_string(in));
      if (!cells_.empty() && cell->hidden_size() != cells_.front()->hidden_size())
        throw std::invalid_argument("StackedRNN: every cell must have the same hidden size");
      cells_.push_back(std::move(cell));
      this->add_module("l" + std::to_string(l) + (d ? "_reverse" : ""), *cells_.back());
    }
    in = cells_.back()->hidden_size() * dirs;
  }
}

template <class T>
StackedOutput<T> StackedRNN<T>::forward(Tape<T>& tape, Var<T> inputs, std::size_t batch,
                                        const std::vector<std::size_t>& lengths,
                                        const std::vector<RecurrentState<T>>& initial, std::mt19937_64* rng) const {
  if (inputs.ndim() != 2) throw ShapeError("StackedRNN", "inputs must be [T·B, D], got " + shape_str(inputs.shape()));
  const Batch b = check_batch("StackedRNN", inputs.dim(0), batch, lengths);
  if (!initial.empty() && initial.size() != cells_.size())
    throw ShapeError("StackedRNN", std::to_string(initial.size()) + " initial states for " +
                                       std::to_string(cells_.size()) + " cells");
  auto init = [&](std::size_t k) -> std::optional<RecurrentState<T>> {
    if (initial.empty()) return std::nullopt;
    return initial[k];
  };
  const std::size_t dirs = directions();
  require_dropout_generator("StackedRNN", this->training() && options_.layers > 1, options_.dropout, rng);
  const bool drop = this->training() && options_.dropout > 0 && rng;
  StackedOutput<T> out;
  out.directions = dirs;
  Var<T> x = inputs;  // [T·B, F]: the input of layer l
  for (std::size_t l = 0; l < options_.layers; ++l) {
    const bool top = l + 1 == options_.layers;
    if (l > 0 && drop)
      x = options_.variational ? mask_mul(x, tied_dropout_mask<T>(b.steps, batch, x.dim(1), options_.dropout, *rng))
                               : dropout(x, static_cast<T>(options_.dropout), true, *rng);
    Pass<T> fwd = run_pass(tape, *cells_[l * dirs], x, b, init(l * dirs), Direction::Forward);
    out.final.push_back(fwd.final);
    if (dirs == 1) {
      if (top)
        out.outputs = fwd.as_steps(batch);
      else
        x = fwd.as_matrix();
      continue;
    }
    Pass<T> bwd = run_pass(tape, *cells_[l * dirs + 1], x, b, init(l * dirs + 1), Direction::Reverse);
    out.final.push_back(bwd.final);
    x = concat(std::vector<Var<T>>{fwd.as_matrix(), bwd.matrix}, 1);
    if (top) out.outputs = split_steps(x, batch);
  }
  return out;
}

template <class T>
StackedOutput<T> StackedRNN<T>::forward(Tape<T>& tape, const std::vector<Var<T>>& inputs,
                                        const std::vector<std::size_t>& lengths,
                                        const std::vector<RecurrentState<T>>& initial, std::mt19937_64* rng) const {
  if (inputs.empty()) throw ShapeError("StackedRNN", "no steps");
  if (inputs[0].ndim() != 2) throw ShapeError("StackedRNN", "steps must be [B, D], got " + shape_str(inputs[0].shape()));
  return forward(tape, concat_outputs(inputs), inputs[0].dim(0), lengths, initial, rng);
}

template <class T>
Var<T> StackedRNN<T>::step(Tape<T>& tape, Var<T> x, std::vector<RecurrentState<T>>& states,
                           std::mt19937_64* rng) const {
  if (options_.bidirectional)
    throw std::logic_error("StackedRNN::step: a bidirectional stack needs the whole sequence; use forward()");
  if (x.ndim() != 2) throw ShapeError("StackedRNN::step", "x must be [B, D], got " + shape_str(x.shape()));
  if (states.empty())
    for (const auto& cell : cells_) states.push_back(cell->zero_state(tape, x.dim(0)));
  if (states.size() != cells_.size())
    throw ShapeError("StackedRNN::step", std::to_string(states.size()) + " states for " +
                                             std::to_string(cells_.size()) + " layers");
  require_dropout_generator("StackedRNN::step", this->training() && cells_.size() > 1, options_.dropout, rng);
  const bool drop = this->training() && options_.dropout > 0 && rng;
  for (std::size_t l = 0; l < cells_.size(); ++l) {
    if (l > 0 && drop) x = dropout(x, static_cast<T>(options_.dropout), true, *rng);
    states[l] = cells_[l]->step(tape, x, states[l]);
    x = states[l].h;
  }
  return x;
}

#define TAPENET_INSTANTIATE_SEQUENCE(T)                                                                          \
  template struct SequenceOutput<T>;                                                                             \
  template SequenceOutput<T> run_sequence(Tape<T>&, const RecurrentCell<T>&, Var<T>, std::size_t,                \
                                          const std::vector<std::size_t>&,                                       \
                                          const std::optional<RecurrentState<T>>&, Direction);                   \
  template SequenceOutput<T> run_sequence(Tape<T>&, const RecurrentCell<T>&, const std::vector<Var<T>>&,         \
                                          const std::vector<std::size_t>&,                                       \
                                          const std::optional<RecurrentState<T>>&, Direction);                   \
  template Var<T> concat_outputs(const std::vector<Var<T>>&);                                                    \
  template std::vector<Var<T>> split_steps(Var<T>, std::size_t);                                                 \
  template Tensor<T> step_mask<T>(const std::vector<std::size_t>&, std::size_t);                                 \
  template BidirectionalOutput<T> run_bidirectional(Tape<T>&, const RecurrentCell<T>&, const RecurrentCell<T>&,  \
                                                    Var<T>, std::size_t, const std::vector<std::size_t>&,        \
                                                    const std::optional<RecurrentState<T>>&,                     \
                                                    const std::optional<RecurrentState<T>>&);                    \
  template Tensor<T> tied_dropout_mask(std::size_t, std::size_t, std::size_t, double, std::mt19937_64&);         \
  template struct StackedOutput<T>;                                                                              \
  template class BidirectionalRNN<T>;                                                                            \
  template class StackedRNN<T>;
TAPENET_INSTANTIATE_SEQUENCE(float)
TAPENET_INSTANTIATE_SEQUENCE(double)

}  // namespace tapenet
