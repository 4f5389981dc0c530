/// @file
/// Training and sampling loops for recurrent models over token sequences, generic over the
/// model: anything that maps token ids and a recurrent state to logits (a DecoderStep) —
/// one RecurrentCell with an embedding and a readout (cell_decoder), a StackedRNN
/// (stacked_decoder), or your own lambda (e.g. a seq2seq decoder with attention).
///
/// @code{.unparsed}
///   truncated BPTT   carry the state across chunks of a long stream as constants on each
///                    new tape (detach_state), so no gradient crosses a chunk boundary.
///   decode           teacher forcing (p = 1), free running (p = 0) or scheduled sampling
///                    (0 < p < 1; Bengio et al. 2015): at every step and for every example
///                    a coin with P(heads) = p decides whether the next input is the gold
///                    token or the model's own prediction (its argmax, or a sample). The
///                    choice of token is not differentiated (as in the paper).
///   generate         free-running sampling (greedy, or softmax with a temperature) after
///                    a prime sequence; no gradients, constant memory per step.
/// @endcode
///
/// Token sequences are time-major like layers/sequence.hpp: ids[t·B + b].
/// Instantiated for float and double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "layers/basic.hpp"
#include "layers/sequence.hpp"

namespace tapenet {

// ---- carrying states between tapes ------------------------------------------------------------

/// The values of a state, off any tape.
template <class T>
struct StateValues {
  Tensor<T> h;
  Tensor<T> c;
  bool has_c = false;
};

template <class T>
StateValues<T> state_values(const RecurrentState<T>& state);
/// Constants on `tape` holding the saved values.
template <class T>
RecurrentState<T> constant_state(const StateValues<T>& values, Tape<T>& tape);
/// The state cut from its history: constants on `tape` (the same or another tape, which
/// must be alive) holding the old values. Nothing flows back through them.
template <class T>
RecurrentState<T> detach_state(const RecurrentState<T>& state, Tape<T>& tape);
template <class T>
std::vector<RecurrentState<T>> detach_states(const std::vector<RecurrentState<T>>& states, Tape<T>& tape);

// ---- truncated BPTT -------------------------------------------------------------------------------

/// One chunk [begin, end) of the time steps. `carry` is the state at `begin` as constants on
/// `tape` (empty on the first chunk unless an initial carry was given: start from zero
/// states). The function records the chunk, calls backward and steps its optimizer itself,
/// and returns the state at `end` (as Vars of `tape`).
template <class T>
using ChunkFn = std::function<std::vector<RecurrentState<T>>(Tape<T>& tape, std::size_t begin, std::size_t end,
                                                             const std::vector<RecurrentState<T>>& carry)>;

/// Truncated BPTT (k1 = k2 = chunk): runs `fn` over steps [0, chunk), [chunk, 2·chunk), ...
/// clearing `tape` before each chunk and carrying the state values across. Returns the
/// values after the last step, to continue the stream with the next call.
template <class T>
std::vector<StateValues<T>> truncated_bptt(Tape<T>& tape, std::size_t steps, std::size_t chunk,
                                           const ChunkFn<non_deduced_t<T>>& fn,
                                           const std::vector<StateValues<T>>& initial = {});

/// Per-example lengths within the chunk [begin, end) of sequences of the given lengths:
/// clamp(len - begin, 0, end - begin) (0: the example ended before the chunk).
std::vector<std::size_t> chunk_lengths(const std::vector<std::size_t>& lengths, std::size_t begin, std::size_t end);

// ---- decoder steps ------------------------------------------------------------------------------------

/// Token ids [B] -> input rows [B, D], and a state -> logits [B, V].
template <class T>
struct TokenIO {
  std::function<Var<T>(Tape<T>&, const std::vector<std::int64_t>& ids)> embed;
  std::function<Var<T>(Tape<T>&, const RecurrentState<T>& state)> readout;
};
/// embed = embedding rows, readout = linear(state.h). Both modules must outlive the result.
template <class T>
TokenIO<T> token_io(const Embedding<T>& embedding, const Linear<T>& readout);

/// One step of a token model: ids [B] in, logits [B, V] out; `states` is advanced in place
/// (empty on entry: start from zero states).
template <class T>
using DecoderStep =
    std::function<Var<T>(Tape<T>& tape, const std::vector<std::int64_t>& ids, std::vector<RecurrentState<T>>& states)>;

/// A single cell: states holds one state. `cell` must outlive the result.
template <class T>
DecoderStep<T> cell_decoder(const RecurrentCell<T>& cell, TokenIO<T> io);
/// A unidirectional StackedRNN: states holds one state per layer; readout sees the top
/// layer's state. `rnn` and `rng` (dropout between layers in training mode; see
/// StackedRNN::step) must outlive the result.
template <class T>
DecoderStep<T> stacked_decoder(const StackedRNN<T>& rnn, TokenIO<T> io, std::mt19937_64* rng = nullptr);

// ---- teacher forcing and scheduled sampling -------------------------------------------------------

struct DecodeOptions {
  double teacher_forcing = 1.0;        ///< p: probability that the next input is the gold token
  std::int64_t ignore_index = -100;    ///< targets equal to this (padding) add nothing to the loss
  bool sample_predictions = false;     ///< feed a sample of softmax(logits / temperature), not the argmax
  double temperature = 1.0;

  DecodeOptions& with_teacher_forcing(double p) { teacher_forcing = p; return *this; }
  DecodeOptions& with_ignore_index(std::int64_t i) { ignore_index = i; return *this; }
  DecodeOptions& with_sampling(bool v = true, double temp = 1.0) { sample_predictions = v; temperature = temp; return *this; }
};

template <class T>
struct DecodeResult {
  std::vector<Var<T>> logits;         ///< T entries [B, V]
  Var<T> loss;                        ///< Σ over counted targets of the cross-entropy, [1]
  std::size_t tokens = 0;             ///< targets counted (not ignore_index): mean = loss / tokens
  std::vector<std::int64_t> inputs;   ///< [T·B]: the token fed at each step (start tokens first)
  std::vector<RecurrentState<T>> final;
};

/// Decodes T = targets.size() / B steps from `start` ids [B] and `initial` states (empty:
/// zero states): step t reads inputs[t] and predicts targets[t]; inputs[t + 1] is the gold
/// targets[t] with probability p, else the model's prediction from logits[t] (also when the
/// gold token is ignore_index). `rng` draws the coins and the sampled predictions; p = 1 and
/// p = 0 with argmax predictions draw nothing and need no generator. Throws
/// std::invalid_argument when a draw is needed and `rng` is null.
template <class T>
DecodeResult<T> decode(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step, std::vector<RecurrentState<T>> initial,
                       const std::vector<std::int64_t>& start, const std::vector<std::int64_t>& targets,
                       const DecodeOptions& options = {}, std::mt19937_64* rng = nullptr);

/// Teacher-forcing probability schedules of Bengio et al. (2015), for training step i.
inline double linear_decay(double i, double k = 1.0, double c = 1e-4, double floor = 0.0) {
  return std::max(floor, k - c * i);
}
inline double exponential_decay(double i, double k = 0.9999) { return std::pow(k, i); }  ///< k < 1
inline double inverse_sigmoid_decay(double i, double k = 1000.0) { return k / (k + std::exp(i / k)); }  ///< k >= 1

// ---- free-running generation ---------------------------------------------------------------------------

struct GenerateOptions {
  std::size_t batch = 1;               ///< prime is time-major [P·batch]
  bool greedy = false;                 ///< argmax instead of sampling
  double temperature = 1.0;            ///< sampling from softmax(logits / temperature)
  std::optional<std::int64_t> stop;    ///< an example that emits this id is done (and repeats it)

  GenerateOptions& with_batch(std::size_t b) { batch = b; return *this; }
  GenerateOptions& with_greedy(bool v = true) { greedy = v; return *this; }
  GenerateOptions& with_temperature(double t) { temperature = t; return *this; }
  GenerateOptions& with_stop(std::int64_t id) { stop = id; return *this; }
};

/// Feeds the prime (at least one step, e.g. a start token) and then the model's own
/// choices; returns the generated ids, time-major [n·batch], n <= steps (fewer when every
/// example has emitted `stop`). `initial` states may live on any tape (e.g. an encoder's).
/// Runs without gradients on an internal tape that is cleared at every step.
template <class T>
std::vector<std::int64_t> generate(const DecoderStep<T>& step, const std::vector<std::int64_t>& prime, std::size_t steps,
                                   std::mt19937_64& rng, const GenerateOptions& options = {},
                                   const std::vector<RecurrentState<T>>& initial = {});

/// The id chosen from one row of logits: argmax, or a sample of softmax(logits / temperature).
/// argmax_token is the greedy choice, which needs no generator.
template <class T>
std::int64_t argmax_token(const T* logits, std::size_t vocab);
template <class T>
std::int64_t choose_token(const T* logits, std::size_t vocab, bool greedy, double temperature, std::mt19937_64& rng);

}  // namespace tapenet
