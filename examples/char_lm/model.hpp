// The character-level language model: embedding -> stacked LSTM/GRU -> dropout -> linear
// readout, trained with truncated BPTT over the lanes of data/token_lanes.hpp.
//
//   x_t = E[c_t]                                  E [V, embed]
//   h¹_t, ..., hᴸ_t = StackedRNN(x_t, state_{t-1})   dropout between layers
//   p(c_{t+1} | c_≤t) = softmax(W dropout(hᴸ_t) + b)
//   loss = mean_t -log p(c_{t+1})                  nats/char; bits/char = nats / ln 2
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <tapenet/layers/generate.hpp>
#include <tapenet/layers/language_model.hpp>

namespace char_lm {

using tapenet::Var;
using State = tapenet::RecurrentState<float>;
using StateValues = tapenet::StateValues<float>;

struct ModelConfig {
  std::string cell = "lstm";  // lstm | gru
  std::size_t vocab = 0;
  std::size_t embed = 64;
  std::size_t hidden = 256;
  std::size_t layers = 2;
  float dropout = 0;  // between layers and before the readout, in training mode
};

// The library's RNNLanguageModel (layers/language_model.hpp) with char-rnn's choices: no
// dropout on the embedding's output, the layers' own initialisation.
class CharLM : public tapenet::RNNLanguageModel<float> {
 public:
  CharLM(const ModelConfig& config, std::mt19937_64& rng);
  const ModelConfig& config() const { return config_; }

 private:
  ModelConfig config_;
};

struct EvalResult {
  double nats = 0;         // mean loss per predicted character
  std::size_t tokens = 0;  // characters predicted
};

// Validation loss over (up to max_tokens of) a stream: `batch` lanes, chunks of `seq`, state
// carried from the start of each lane, no gradients, eval mode. max_tokens 0 = all.
EvalResult evaluate(CharLM& model, const std::vector<std::int64_t>& ids, std::size_t batch, std::size_t seq,
                    std::size_t max_tokens);

}  // namespace char_lm
