/// @file
/// Encoder–decoder (seq2seq) models: "the network first reads and memorises the sentence;
/// when it sees the end token it starts to output the translation; encoder and decoder are
/// two networks with different weights" (Cho et al. 2014; Sutskever et al. 2014), with
/// optional attention (Bahdanau et al. 2015; Luong et al. 2015), teacher-forced training,
/// greedy decoding and beam search.
///
/// Batches are time-major and padded, like layers/sequence.hpp: source ids src[s·B + b] with
/// lengths [B] (each >= 1). With m_{s,b} the encoder's top-layer outputs and ŝ its summary
/// (the final h of the top layer, both directions concatenated):
/// @code{.unparsed}
///   encoder     m_{·,b} = StackedRNN(E_src x_b)                     (any CellKind, bi- or unidirectional)
///   initial     h_0 = tanh(W_br ŝ + b_br)      (Sutskever; bridge)  or h_0 = ŝ (no bridge: same sizes,
///               unidirectional), or h_0 = 0; an LSTM's c_0 likewise from the encoder's final c (no tanh)
///   context     c_t = attention(h_{t-1}, m)    (Bahdanau order)     or c_t = ŝ at every t (Cho)
///               or none
///   step        h_t = cell([E_tgt y_{t-1} ; c_t], h_{t-1})
///   readout     logits_t = W_o [h_t ; c_t] + b_o                    (W_o h_t + b_o without context)
/// @endcode
/// Dropout (training mode only) on both embeddings and on the readout's input.
///
/// Every decoder step is a DecoderStep (layers/generate.hpp), so training reuses `decode`
/// (teacher forcing, scheduled sampling) and inference runs greedy and beam search over any
/// DecoderStep, batched: beam search keeps the k hypotheses of example b in rows b·k .. b·k+k-1.
///
/// Instantiated for float and double.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "layers/attention.hpp"
#include "layers/basic.hpp"
#include "layers/cell_factory.hpp"
#include "layers/generate.hpp"
#include "layers/sequence.hpp"

namespace tapenet {

/// How the decoder sees the source beyond its initial state.
enum class ContextKind { None, Fixed, Attention };

struct Seq2SeqOptions {
  std::size_t source_vocab = 0;
  std::size_t target_vocab = 0;
  std::size_t embedding = 64;
  std::size_t hidden = 128;          ///< encoder hidden size per direction
  std::size_t decoder_hidden = 0;    ///< 0: hidden · directions
  std::size_t layers = 1;            ///< encoder layers
  bool bidirectional = false;
  CellKind cell = CellKind::GRU;     ///< encoder and decoder cells (layers/cell_factory.hpp)
  bool init_from_encoder = true;     ///< Sutskever: h_0 from the encoder summary (through the bridge if needed)
  bool bridge = true;                ///< a tanh Linear from the summary to h_0; forced when sizes differ
  ContextKind context = ContextKind::Attention;
  AttentionKind attention = AttentionKind::Additive;
  double dropout = 0.0;              ///< embeddings, readout input and between encoder layers (training mode)
  std::int64_t start_token = 2;      ///< fed to the decoder first (`<sos>` of data/pairs.hpp)
};

/// A batch of source sentences: ids time-major [S·B], lengths [B] (each in 1..S).
struct SourceBatch {
  std::vector<std::int64_t> ids;
  std::vector<std::size_t> lengths;
  std::size_t batch = 0;
  std::size_t steps() const { return batch ? ids.size() / batch : 0; }
};
/// Pads the sentences (each non-empty) into a SourceBatch.
SourceBatch make_source_batch(const std::vector<std::vector<std::int64_t>>& sentences, std::int64_t pad);

template <class T>
struct EncoderOutput {
  Var<T> memory;                           ///< [S·B, He] time-major, zero at padded positions
  Var<T> summary_h;                        ///< [B, He]
  Var<T> summary_c;                        ///< [B, He] (LSTM only)
  std::vector<std::size_t> lengths;        ///< [B]
  std::size_t batch = 0;
};

template <class T>
class Encoder : public Module<T> {
 public:
  Encoder(const Seq2SeqOptions& options, std::mt19937_64& rng);
  /// `rng`: dropout in training mode (see layers/basic.hpp), required then when dropout > 0.
  EncoderOutput<T> forward(Tape<T>& tape, const SourceBatch& source, std::mt19937_64* rng = nullptr) const;
  std::size_t output_size() const { return rnn_->output_size(); }

  Embedding<T>& embedding() { return *embedding_; }
  StackedRNN<T>& rnn() { return *rnn_; }

 private:
  Seq2SeqOptions options_;
  std::unique_ptr<Embedding<T>> embedding_;
  std::unique_ptr<StackedRNN<T>> rnn_;
};

/// What a decoder step reads from the encoder, for N decoder rows.
template <class T>
struct DecoderContext {
  AttentionMemory<T> memory;  ///< attention only
  Var<T> fixed;               ///< ContextKind::Fixed: [N, He]
  /// When set, every step appends its attention weights [N, S] here (for inspection).
  std::vector<Var<T>>* weights_out = nullptr;
};

template <class T>
class Decoder : public Module<T> {
 public:
  Decoder(const Seq2SeqOptions& options, std::size_t encoder_size, std::mt19937_64& rng);

  /// The initial states (one per decoder, i.e. a vector of one) from the encoder.
  std::vector<RecurrentState<T>> initial_state(Tape<T>& tape, const EncoderOutput<T>& encoder) const;
  DecoderContext<T> context(Tape<T>& tape, const EncoderOutput<T>& encoder) const;
  /// One step: ids [N] -> logits [N, V]; `rng` (dropout in training mode, required then when
  /// dropout > 0: the step throws otherwise) and `context` must outlive the result.
  DecoderStep<T> step_function(const DecoderContext<T>& context, std::mt19937_64* rng = nullptr) const;

  std::size_t hidden_size() const { return cell_->hidden_size(); }
  const RecurrentCell<T>& cell() const { return *cell_; }

 private:
  Seq2SeqOptions options_;
  std::size_t encoder_size_;
  std::unique_ptr<Embedding<T>> embedding_;
  std::unique_ptr<RecurrentCell<T>> cell_;
  std::unique_ptr<Attention<T>> attention_;
  std::unique_ptr<Linear<T>> bridge_h_, bridge_c_, readout_;
};

/// Rows of a context and states repeated for beam search: row b becomes rows b·k .. b·k+k-1.
template <class T>
DecoderContext<T> repeat_context(const DecoderContext<T>& context, std::size_t k);
template <class T>
std::vector<RecurrentState<T>> repeat_states(const std::vector<RecurrentState<T>>& states, std::size_t k);

// ---- search over any DecoderStep -------------------------------------------------------------------

struct SearchOptions {
  std::int64_t start = 2;                ///< `<sos>`
  std::int64_t eos = 3;                  ///< `<eos>`
  std::size_t max_length = 50;           ///< tokens generated at most (the `<eos>` included)
  std::size_t beam = 5;                  ///< k
  /// Length normalisation of GNMT (Wu et al. 2016): score = log P / ((5 + |y|) / 6)^alpha,
  /// |y| counting the `<eos>`; alpha = 0 ranks by log P.
  double length_alpha = 0.0;
  /// Per example of the batch, when not empty: example b generates at most
  /// min(max_length, max_lengths[b]) tokens (e.g. a multiple of its source length).
  std::vector<std::size_t> max_lengths;

  std::size_t max_length_of(std::size_t b) const {
    return max_lengths.empty() ? max_length : std::min(max_length, max_lengths[b]);
  }
  SearchOptions& with_start(std::int64_t id) { start = id; return *this; }
  SearchOptions& with_eos(std::int64_t id) { eos = id; return *this; }
  SearchOptions& with_max_length(std::size_t n) { max_length = n; return *this; }
  SearchOptions& with_beam(std::size_t k) { beam = k; return *this; }
  SearchOptions& with_length_alpha(double a) { length_alpha = a; return *this; }
};

struct Hypothesis {
  std::vector<std::int64_t> tokens;  ///< the `<eos>` included when it was generated
  double log_prob = 0;
  double score = 0;                  ///< log_prob after length normalisation
  bool finished = false;             ///< ended with `<eos>` (false: cut at max_length)
};

double length_normalised(double log_prob, std::size_t length, double alpha);

/// Greedy search for B examples at once (states for B rows, on `tape`, which is extended).
/// Each example stops at its `<eos>`. Returns B hypotheses.
template <class T>
std::vector<Hypothesis> greedy_search(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step,
                                      std::vector<RecurrentState<T>> states, std::size_t batch,
                                      const SearchOptions& options);

/// Beam search for B examples at once. `step` and `states` must serve B·k rows, example b in
/// rows b·k .. b·k+k-1 (see repeat_context / repeat_states). A hypothesis that emits `<eos>` is
/// finished; the search of an example stops once it has k finished hypotheses (or after
/// max_length steps, when the unfinished ones compete too). Returns the best hypothesis
/// of each example, by score.
template <class T>
std::vector<Hypothesis> beam_search(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step,
                                    std::vector<RecurrentState<T>> states, std::size_t batch,
                                    const SearchOptions& options);
/// The n best hypotheses of each example (n <= k; fewer when fewer were found), best first.
template <class T>
std::vector<std::vector<Hypothesis>> beam_search_nbest(Tape<T>& tape, const DecoderStep<non_deduced_t<T>>& step,
                                                       std::vector<RecurrentState<T>> states, std::size_t batch,
                                                       const SearchOptions& options, std::size_t n);

// ---- the model ----------------------------------------------------------------------------------------

template <class T>
struct Seq2SeqLoss {
  Var<T> loss;             ///< Σ over target tokens of -log p, [1]
  std::size_t tokens = 0;  ///< counted targets: the mean is loss / tokens
};

template <class T>
class Seq2Seq : public Module<T> {
 public:
  Seq2Seq(const Seq2SeqOptions& options, std::mt19937_64& rng);

  /// targets time-major [T·B]: y_1 .. y_n `<eos>`, then ignore_index (-100) at padding.
  /// teacher_forcing: probability of feeding the gold token (1: teacher forcing; < 1:
  /// scheduled sampling, the model's argmax otherwise). `rng` draws the dropout masks in
  /// training mode and the coins of scheduled sampling; either needs it (std::invalid_argument
  /// otherwise).
  Seq2SeqLoss<T> loss(Tape<T>& tape, const SourceBatch& source, const std::vector<std::int64_t>& targets,
                      double teacher_forcing = 1.0, std::mt19937_64* rng = nullptr) const;

  /// Inference without gradients, one hypothesis per source sentence. They draw no dropout,
  /// so call eval() first: in training mode with dropout > 0 they throw std::invalid_argument.
  std::vector<Hypothesis> greedy(const SourceBatch& source, const SearchOptions& options) const;
  std::vector<Hypothesis> beam(const SourceBatch& source, const SearchOptions& options) const;
  std::vector<std::vector<Hypothesis>> beam_nbest(const SourceBatch& source, const SearchOptions& options,
                                                  std::size_t n) const;
  /// The attention weights [T, S] of one source sentence while the decoder is fed `output`
  /// (e.g. a search result): row t is the step that produced output[t]. Empty without attention.
  std::vector<std::vector<double>> attention_matrix(const std::vector<std::int64_t>& source,
                                                    const std::vector<std::int64_t>& output,
                                                    std::int64_t start) const;

  const Seq2SeqOptions& options() const { return options_; }
  Encoder<T>& encoder() { return encoder_; }
  Decoder<T>& decoder() { return decoder_; }

 private:
  Seq2SeqOptions options_;
  Encoder<T> encoder_;
  Decoder<T> decoder_;
};

}  // namespace tapenet
