#include "layers/language_model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "data/token_lanes.hpp"

namespace tapenet {

namespace {

const LanguageModelOptions& checked(const LanguageModelOptions& o) {
  if (o.vocab == 0 || o.embed == 0 || o.hidden == 0 || o.layers == 0)
    throw std::invalid_argument("RNNLanguageModel: vocab, embed, hidden and layers must be positive");
  if (!(o.dropout >= 0 && o.dropout < 1))
    throw std::invalid_argument("RNNLanguageModel: dropout must be in [0, 1), got " + std::to_string(o.dropout));
  if (o.tied && o.embed != o.hidden)
    throw std::invalid_argument("RNNLanguageModel: tied weights need embed == hidden, got " + std::to_string(o.embed) +
                                " and " + std::to_string(o.hidden));
  if (o.init_scale < 0) throw std::invalid_argument("RNNLanguageModel: init_scale must not be negative");
  return o;
}

}  // namespace

template <class T>
RNNLanguageModel<T>::RNNLanguageModel(const LanguageModelOptions& options, const CellFactory<T>& make_cell,
                                      std::mt19937_64& rng)
    : options_(checked(options)),
      embedding_(options.vocab, options.embed, rng, 1.0),
      rnn_(options.embed, options.hidden, make_cell,
           StackedOptions<T>().with_layers(options.layers).with_dropout(options.dropout, options.variational)) {
  this->add_module("embedding", embedding_);
  this->add_module("rnn", rnn_);
  if (options.tied) {
    tied_bias_ = &this->add_parameter("readout.b", zeros<T>({1, options.vocab}));
  } else {
    untied_readout_.emplace(options.hidden, options.vocab, rng);
    this->add_module("readout", *untied_readout_);
  }
  if (options.init_scale > 0)
    for (Parameter<T>* p : this->parameters())
      p->value = init::uniform<T>(to_shape(p->value.shape()), options.init_scale, rng);
}

template <class T>
Var<T> RNNLanguageModel<T>::drop(Tape<T>& tape, Var<T> x, std::size_t batch, std::mt19937_64* rng) const {
  if (!this->training() || options_.dropout == 0 || !rng) return x;
  if (!options_.variational) return dropout(x, static_cast<T>(options_.dropout), true, *rng);
  const std::size_t rows = x.value().shape()[0], features = x.value().shape()[1];
  return x * tape.constant(tied_dropout_mask<T>(rows / batch, batch, features, options_.dropout, *rng));
}

template <class T>
Var<T> RNNLanguageModel<T>::readout(Tape<T>& tape, Var<T> h) const {
  if (untied_readout_) return untied_readout_->forward(tape, h);
  // logits = h Eᵀ + b: the table read as the readout's [V, hidden] weight
  return linear(h, tape.param(embedding_.table), tape.param(*tied_bias_));
}

template <class T>
typename RNNLanguageModel<T>::Chunk RNNLanguageModel<T>::forward(Tape<T>& tape, const std::vector<std::int64_t>& inputs,
                                                                 std::size_t batch,
                                                                 const std::vector<RecurrentState<T>>& initial,
                                                                 std::mt19937_64* rng) const {
  require_dropout_generator("RNNLanguageModel", this->training(), options_.dropout, rng);
  if (batch == 0 || inputs.empty() || inputs.size() % batch != 0)
    throw std::invalid_argument("RNNLanguageModel: " + std::to_string(inputs.size()) +
                                " inputs do not make time-major steps of batch " + std::to_string(batch));
  Var<T> x = embedding_.forward(tape, inputs);  // [T·B, embed]
  if (options_.drop_embedding) x = drop(tape, x, batch, rng);
  // Layer-major: each layer's input projection is one GEMM over the whole chunk.
  StackedOutput<T> run = rnn_.forward(tape, x, batch, {}, initial, rng);
  Var<T> top = drop(tape, concat_outputs(run.outputs), batch, rng);  // [T·B, hidden]
  return Chunk{readout(tape, top), std::move(run.final)};
}

template <class T>
Var<T> RNNLanguageModel<T>::loss(Tape<T>& tape, const std::vector<std::int64_t>& inputs,
                                 const std::vector<std::int64_t>& targets, std::size_t batch,
                                 std::vector<RecurrentState<T>>& states, std::mt19937_64* rng) const {
  if (targets.size() != inputs.size())
    throw std::invalid_argument("RNNLanguageModel::loss: " + std::to_string(targets.size()) + " targets for " +
                                std::to_string(inputs.size()) + " inputs");
  Chunk chunk = forward(tape, inputs, batch, states, rng);
  states = std::move(chunk.states);
  return cross_entropy(chunk.logits, targets);  // mean_t -log softmax(logits_t)[w_{t+1}]
}

template <class T>
std::vector<std::int64_t> RNNLanguageModel<T>::sample(const std::vector<std::int64_t>& prime, std::size_t n,
                                                      double temperature, std::mt19937_64& rng) {
  const bool was_training = this->training();
  this->eval();
  TokenIO<T> io;
  io.embed = [this](Tape<T>& tape, const std::vector<std::int64_t>& ids) { return embedding_.forward(tape, ids); };
  io.readout = [this](Tape<T>& tape, const RecurrentState<T>& state) { return readout(tape, state.h); };
  DecoderStep<T> step = stacked_decoder(rnn_, io);  // eval mode: no dropout
  std::vector<std::int64_t> out =
      generate(step, prime, n, rng, GenerateOptions().with_temperature(temperature).with_greedy(temperature == 0));
  this->train(was_training);
  return out;
}

double StreamEvaluation::perplexity() const { return std::exp(nats); }

template <class T>
StreamEvaluation evaluate_stream(RNNLanguageModel<T>& model, const std::vector<std::int64_t>& ids, std::size_t batch,
                                 std::size_t seq, std::size_t max_tokens) {
  const bool was_training = model.training();
  model.eval();
  NoGradGuard no_grad;
  // With a token budget, fewer lanes of the same length would change what is measured;
  // keep the lanes and stop after enough chunks instead.
  const data::TokenLanes lanes(ids, std::min(batch, std::max<std::size_t>(1, (ids.size() - 1) / seq)), seq);
  Tape<T> tape;
  std::vector<StateValues<T>> carried;
  std::vector<std::int64_t> inputs, targets;
  StreamEvaluation r;
  double total = 0;
  for (std::size_t i = 0; i < lanes.chunks() && !(max_tokens && r.tokens >= max_tokens); ++i) {
    lanes.chunk(i, inputs, targets);
    tape.clear();
    std::vector<RecurrentState<T>> states;
    for (const auto& v : carried) states.push_back(constant_state(v, tape));
    const T mean = model.loss(tape, inputs, targets, lanes.batch(), states).item();
    total += double(mean) * double(targets.size());
    r.tokens += targets.size();
    carried.clear();
    for (const auto& s : states) carried.push_back(state_values(s));
  }
  r.nats = r.tokens ? total / double(r.tokens) : 0.0;
  model.train(was_training);
  return r;
}

#define TAPENET_INSTANTIATE_LANGUAGE_MODEL(T)                                                                  \
  template class RNNLanguageModel<T>;                                                                          \
  template StreamEvaluation evaluate_stream(RNNLanguageModel<T>&, const std::vector<std::int64_t>&, std::size_t, \
                                            std::size_t, std::size_t);
TAPENET_INSTANTIATE_LANGUAGE_MODEL(float)
TAPENET_INSTANTIATE_LANGUAGE_MODEL(double)
#undef TAPENET_INSTANTIATE_LANGUAGE_MODEL

}  // namespace tapenet
