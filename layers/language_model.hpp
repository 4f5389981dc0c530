/// @file
/// A recurrent language model: embedding -> stacked LSTM/GRU -> linear readout to the whole
/// vocabulary with a full softmax (Mikolov et al. 2010; Zaremba et al. 2014):
///
/// @code{.unparsed}
///   x_t = E[w_t]                                        E [V, embed]
///   h¹_t .. hᴸ_t = StackedRNN(drop(x_t), state_{t-1})    drop between the layers too
///   p(w_{t+1} | w_≤t) = softmax(W drop(hᴸ_t) + b)        W [V, hidden]
/// @endcode
///
/// Regularisation (Zaremba et al. 2014): dropout on the non-recurrent connections only — the
/// embedding's output, between layers and in front of the readout — never on h_{t-1}. With
/// `variational`, each of those masks is drawn once per chunk and reused at every step (Gal &
/// Ghahramani 2016). With `tied`, the readout's W is the embedding table (Press & Wolf 2017;
/// Inan et al. 2017), which needs embed == hidden.
///
/// Parameters: "embedding.table", "rnn.l<k>.*", "readout.W" (absent when tied), "readout.b".
/// Initialisation: with init_scale s > 0 every parameter ~ U(-s, s) (Zaremba et al.), drawn
/// in parameters() order after the layers' own; otherwise the layers' own (embedding rows
/// N(0, 1) as torch.nn.Embedding, so the Glorot-initialised W_ih sees inputs of unit scale).
/// A forward never mutates the model: one model serves many tapes. Instantiated for float
/// and double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "layers/basic.hpp"
#include "layers/generate.hpp"
#include "layers/sequence.hpp"

namespace tapenet {

struct LanguageModelOptions {
  std::size_t vocab = 0, embed = 0, hidden = 0, layers = 1;
  double dropout = 0;        ///< p on the non-recurrent connections, training mode only
  bool variational = false;  ///< one mask per chunk and connection, reused at every step
  bool tied = false;         ///< readout W = embedding table (embed == hidden)
  double init_scale = 0;     ///< `> 0`: every parameter ~ U(-s, s)
  /// Dropout on the embedding's output too (Zaremba et al.); char-rnn drops only between the
  /// layers and before the readout.
  bool drop_embedding = true;

  LanguageModelOptions& with_layers(std::size_t n) { layers = n; return *this; }
  LanguageModelOptions& with_dropout(double p, bool tied_masks = false) { dropout = p; variational = tied_masks; return *this; }
  LanguageModelOptions& with_tied_weights(bool on = true) { tied = on; return *this; }
  LanguageModelOptions& with_init_scale(double s) { init_scale = s; return *this; }
  LanguageModelOptions& with_embedding_dropout(bool on) { drop_embedding = on; return *this; }
};

template <class T>
class RNNLanguageModel : public Module<T> {
 public:
  /// Throws std::invalid_argument for a zero size, p outside [0, 1), or tied with embed != hidden.
  RNNLanguageModel(const LanguageModelOptions& options, const CellFactory<T>& make_cell, std::mt19937_64& rng);

  struct Chunk {
    Var<T> logits;                         ///< [T·B, V], time-major
    std::vector<RecurrentState<T>> states;  ///< after the chunk, one per layer
  };
  /// The logits of a time-major chunk of ids [T·B], from `initial` (empty: zero states;
  /// otherwise one state per layer, e.g. constant_state of the previous chunk's). `rng`
  /// draws the dropout masks in training mode, and is required then when dropout > 0.
  Chunk forward(Tape<T>& tape, const std::vector<std::int64_t>& inputs, std::size_t batch,
                const std::vector<RecurrentState<T>>& initial = {}, std::mt19937_64* rng = nullptr) const;

  /// Mean cross-entropy (nats per token) of the chunk's targets [T·B]; `states` holds the
  /// carried state on entry and the state after the chunk on return.
  Var<T> loss(Tape<T>& tape, const std::vector<std::int64_t>& inputs, const std::vector<std::int64_t>& targets,
              std::size_t batch, std::vector<RecurrentState<T>>& states, std::mt19937_64* rng = nullptr) const;

  /// logits = W h + b for rows h [N, hidden] (no dropout).
  Var<T> readout(Tape<T>& tape, Var<T> h) const;

  /// Free-running sample of n tokens after the `prime` ids, in eval mode (the caller's mode
  /// is restored); temperature 0 is greedy. `rng` draws the sampled tokens.
  std::vector<std::int64_t> sample(const std::vector<std::int64_t>& prime, std::size_t n, double temperature,
                                   std::mt19937_64& rng);

  const LanguageModelOptions& options() const { return options_; }
  const Embedding<T>& embedding() const { return embedding_; }
  const StackedRNN<T>& rnn() const { return rnn_; }

 private:
  // x in training mode with dropout p: fresh masks, or one [B, F] mask for all steps.
  Var<T> drop(Tape<T>& tape, Var<T> x, std::size_t batch, std::mt19937_64* rng) const;

  LanguageModelOptions options_;
  Embedding<T> embedding_;
  StackedRNN<T> rnn_;
  std::optional<Linear<T>> untied_readout_;
  Parameter<T>* tied_bias_ = nullptr;
};

struct StreamEvaluation {
  double nats = 0;         ///< mean loss per predicted token
  std::size_t tokens = 0;  ///< tokens predicted
  double perplexity() const;
};

/// Loss over (up to max_tokens of) a stream read as `batch` lanes in chunks of `seq`, the
/// state carried from the start of each lane, in eval mode without gradients (the model's
/// mode is restored). max_tokens 0: the whole stream.
template <class T>
StreamEvaluation evaluate_stream(RNNLanguageModel<T>& model, const std::vector<std::int64_t>& ids,
                                 std::size_t batch, std::size_t seq, std::size_t max_tokens = 0);

}  // namespace tapenet
