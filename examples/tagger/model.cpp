#include "model.hpp"

#include <algorithm>

namespace tagger {

using namespace tapenet;

namespace {

std::size_t rnn_input(const ModelConfig& c) { return c.word_dim + (c.char_hidden ? 2 * c.char_hidden : 0); }

std::size_t longest(const std::vector<const Encoded*>& batch) {
  std::size_t t = 0;
  for (const Encoded* s : batch) t = std::max(t, s->words.size());
  return t;
}

}  // namespace

Tagger::Tagger(const ModelConfig& c, std::mt19937_64& rng)
    : config_(c),
      word_embedding_(c.words, c.word_dim, rng),
      char_embedding_(c.char_hidden ? std::make_unique<Embedding<float>>(256, c.char_dim, rng) : nullptr),
      char_rnn_(c.char_hidden ? std::make_unique<BidirectionalRNN<float>>(c.char_dim, c.char_hidden,
                                                                          cell_factory<float>(CellKind::LSTM, rng))
                              : nullptr),
      rnn_(rnn_input(c), c.hidden, cell_factory<float>(CellKind::LSTM, rng),
           StackedOptions<float>().with_layers(c.layers).with_bidirectional().with_dropout(c.dropout)),
      dropout_(c.dropout),
      output_(2 * c.hidden, c.tags, rng),
      crf_(c.crf ? std::make_unique<CRF<float>>(c.tags, rng) : nullptr) {
  this->add_module("words", word_embedding_);
  if (char_embedding_) {
    this->add_module("chars", *char_embedding_);
    this->add_module("char_rnn", *char_rnn_);
  }
  this->add_module("rnn", rnn_);
  this->add_module("dropout", dropout_);
  this->add_module("output", output_);
  if (crf_) this->add_module("crf", *crf_);
}

Var<float> Tagger::emissions(Tape<float>& tape, const std::vector<const Encoded*>& batch,
                             const std::vector<std::vector<std::int64_t>>& word_ids, std::mt19937_64* rng) const {
  const std::size_t B = batch.size(), T = longest(batch);
  std::vector<std::size_t> lengths(B);
  std::vector<std::int64_t> ids(T * B, 0);
  for (std::size_t b = 0; b < B; ++b) {
    lengths[b] = batch[b]->words.size();
    for (std::size_t t = 0; t < lengths[b]; ++t) ids[t * B + b] = word_ids[b][t];
  }
  Var<float> x = word_embedding_.forward(tape, ids);  // [T·B, word_dim]
  if (char_rnn_) {
    // Every word of the chunk is one sequence of the char BiLSTM (b-major order).
    std::vector<std::vector<std::int64_t>> words;
    std::vector<std::int64_t> row(T * B, 0);  // the word of position (t, b); padding: word 0
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < lengths[b]; ++t) {
        row[t * B + b] = std::int64_t(words.size());
        const auto& c = batch[b]->chars[t];
        const std::size_t m = config_.max_word_chars, half = m / 2;
        if (c.size() <= m) words.push_back(c);
        else {
          std::vector<std::int64_t> cut(c.begin(), c.begin() + std::ptrdiff_t(half));
          cut.insert(cut.end(), c.end() - std::ptrdiff_t(m - half), c.end());
          words.push_back(std::move(cut));
        }
      }
    const std::size_t N = words.size();
    std::size_t C = 1;
    for (const auto& w : words) C = std::max(C, w.size());
    std::vector<std::size_t> char_lengths(N);
    std::vector<std::int64_t> char_ids(C * N, 0);
    for (std::size_t n = 0; n < N; ++n) {
      char_lengths[n] = std::max<std::size_t>(1, words[n].size());
      for (std::size_t k = 0; k < words[n].size(); ++k) char_ids[k * N + n] = words[n][k];
    }
    const Var<float> chars = char_embedding_->forward(tape, char_ids);  // [C·N, char_dim]
    const Var<float> summary = char_rnn_->forward(tape, chars, N, char_lengths).final_h();  // [N, 2·char_hidden]
    x = concat(std::vector<Var<float>>{x, gather_rows(summary, row)}, 1);
  }
  x = dropout_.forward(tape, x, rng);
  const StackedOutput<float> run = rnn_.forward(tape, x, B, lengths, {}, rng);
  const Var<float> h = dropout_.forward(tape, concat_outputs(run.outputs), rng);
  return output_.forward(tape, h);  // [T·B, L]
}

Var<float> Tagger::loss(Tape<float>& tape, const std::vector<const Encoded*>& batch,
                        const std::vector<std::vector<std::int64_t>>& word_ids, std::mt19937_64* rng) const {
  const std::size_t B = batch.size(), T = longest(batch), L = config_.tags;
  const Var<float> em = emissions(tape, batch, word_ids, rng);
  if (!crf_) {
    std::vector<std::int64_t> targets(T * B, -100);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < batch[b]->tags.size(); ++t) targets[t * B + b] = batch[b]->tags[t];
    ClassLossOptions<float> options;
    options.reduction = Reduction::Sum;
    return cross_entropy(em, targets, options);
  }
  IndexTensor tags = xt::zeros<std::int64_t>({T, B});
  Tensor<float> mask = xt::zeros<float>({T, B});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < batch[b]->tags.size(); ++t) {
      tags(t, b) = batch[b]->tags[t];
      mask(t, b) = 1;
    }
  return crf_->neg_log_likelihood(tape, reshape(em, Shape{T, B, L}), tags, mask, Reduction::Sum);
}

std::vector<std::vector<std::int64_t>> Tagger::predict(Tape<float>& tape, const std::vector<const Encoded*>& batch) const {
  const std::size_t B = batch.size(), T = longest(batch), L = config_.tags;
  std::vector<std::vector<std::int64_t>> ids(B);
  for (std::size_t b = 0; b < B; ++b) ids[b] = batch[b]->words;
  const Var<float> em = emissions(tape, batch, ids, nullptr);
  std::vector<std::vector<std::int64_t>> out(B);
  if (crf_) {
    Tensor<float> mask = xt::zeros<float>({T, B});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 0; t < batch[b]->words.size(); ++t) mask(t, b) = 1;
    return crf_->viterbi(reshape(em, Shape{T, B, L}).value(), mask);
  }
  const std::vector<std::int64_t> best = argmax(em, 1);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < batch[b]->words.size(); ++t) out[b].push_back(best[t * B + b]);
  return out;
}

}  // namespace tagger
