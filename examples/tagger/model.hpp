// The tagger network (Lample et al. 2016 §2-4; Plank et al. 2016 §2):
//
//   characters  c_{i,1..m} of word i (UTF-8 bytes), embedded: e^c_{i,k} = C[c_{i,k}]
//   char BiLSTM  c_i = [→h^c_{i,m} ; ←h^c_{i,1}]           (final states of both directions)
//   word        x_i = [E[w_i] ; c_i]                        (dropout p on x_i)
//   BiLSTM      h_i = [→h_i ; ←h_i],  K stacked layers       (dropout p on h_i)
//   emissions   P_i = W h_i + b ∈ R^L
//   softmax     p(y_i | x) = softmax(P_i),  loss = -Σ_i log p(y_i | x)
//   CRF         s(x, y) = start[y_1] + Σ_i P_{i,y_i} + Σ_{i>1} A[y_{i-1}, y_i] + end[y_n]
//               loss = log Σ_y' exp s(x, y') - s(x, y),  decoded by Viterbi
//
// A chunk of sentences runs as one padded, time-major batch (layers/sequence.hpp): the
// words of all its sentences through the char BiLSTM as one batch of words, then the
// sentences through the word BiLSTM with their lengths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "layers/basic.hpp"
#include "layers/cell_factory.hpp"
#include "layers/crf.hpp"
#include "layers/module.hpp"
#include "layers/sequence.hpp"

namespace tagger {

struct ModelConfig {
  std::size_t words = 1, tags = 1;  // vocabulary and tag-set sizes
  std::size_t word_dim = 100, char_dim = 30, char_hidden = 50, hidden = 100, layers = 1;
  bool crf = false;
  double dropout = 0.25;
  std::size_t max_word_chars = 30;  // longer words: their first and last 15 bytes
};

// One sentence as the net reads it.
struct Encoded {
  std::vector<std::int64_t> words;                    // vocabulary ids
  std::vector<std::vector<std::int64_t>> chars;       // per word, byte values 0..255
  std::vector<std::int64_t> tags;                     // class ids (-1: unknown tag)
};

class Tagger : public tapenet::Module<float> {
 public:
  Tagger(const ModelConfig& config, std::mt19937_64& rng);

  // The summed loss over the tokens of `batch` (the sentences' word ids may be replaced
  // by <unk> already); `rng` draws dropout in training mode.
  tapenet::Var<float> loss(tapenet::Tape<float>& tape, const std::vector<const Encoded*>& batch,
                           const std::vector<std::vector<std::int64_t>>& word_ids, std::mt19937_64* rng) const;
  // The predicted tags of every sentence of `batch` (eval mode: no dropout).
  std::vector<std::vector<std::int64_t>> predict(tapenet::Tape<float>& tape,
                                                 const std::vector<const Encoded*>& batch) const;

  const ModelConfig& config() const { return config_; }

 private:
  // Emissions [T·B, L], time-major.
  tapenet::Var<float> emissions(tapenet::Tape<float>& tape, const std::vector<const Encoded*>& batch,
                                const std::vector<std::vector<std::int64_t>>& word_ids, std::mt19937_64* rng) const;

  ModelConfig config_;
  tapenet::Embedding<float> word_embedding_;
  std::unique_ptr<tapenet::Embedding<float>> char_embedding_;
  std::unique_ptr<tapenet::BidirectionalRNN<float>> char_rnn_;
  tapenet::StackedRNN<float> rnn_;
  tapenet::Dropout<float> dropout_;
  tapenet::Linear<float> output_;
  std::unique_ptr<tapenet::CRF<float>> crf_;
};

}  // namespace tagger
