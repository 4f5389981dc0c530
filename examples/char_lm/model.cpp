#include "model.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "corpus.hpp"
#include "layers/cell_factory.hpp"

namespace char_lm {

using namespace tapenet;

CharLM::CharLM(const ModelConfig& config, std::mt19937_64& rng)
    : config_(config),
      // N(0, 1) rows, as torch.nn.Embedding: inputs of unit scale for the Glorot-initialised W_ih.
      embedding_(config.vocab, config.embed, rng, 1.0),
      rnn_(config.embed, config.hidden, cell_factory<float>(parse_cell(config.cell), rng),
           StackedOptions<float>().with_layers(config.layers).with_dropout(config.dropout)),
      readout_(config.hidden, config.vocab, rng) {
  if (config.vocab == 0 || config.embed == 0 || config.hidden == 0 || config.layers == 0)
    throw std::invalid_argument("CharLM: vocab, embed, hidden and layers must be positive");
  add_module("embedding", embedding_);
  add_module("rnn", rnn_);
  add_module("readout", readout_);
}

Var<float> CharLM::loss(Tape<float>& tape, const std::vector<std::int64_t>& inputs,
                        const std::vector<std::int64_t>& targets, std::size_t batch, std::vector<State>& states,
                        std::mt19937_64* rng) const {
  require_dropout_generator("CharLM", training(), config_.dropout, rng);
  // x_t = E[c_t], all T·B rows at once: [T·B, embed]
  Var<float> x = embedding_.forward(tape, inputs);
  // The stack over the chunk, starting from the carried state (layer-major: each layer's
  // input projection is one GEMM over the whole chunk).
  StackedOutput<float> run = rnn_.forward(tape, x, batch, {}, states, rng);
  states = run.final;
  Var<float> top = concat_outputs(run.outputs);  // [T·B, hidden]
  if (training() && config_.dropout > 0 && rng) top = dropout(top, config_.dropout, true, *rng);
  // logits = W hᴸ_t + b; mean_t -log softmax(logits)[c_{t+1}]
  return cross_entropy(readout_.forward(tape, top), targets);
}

std::vector<std::int64_t> CharLM::sample(const std::vector<std::int64_t>& prime, std::size_t n, double temperature,
                                         std::mt19937_64& rng) {
  const bool was_training = training();
  eval();
  DecoderStep<float> step = stacked_decoder(rnn_, token_io(embedding_, readout_));  // eval mode: no dropout
  std::vector<std::int64_t> out =
      generate(step, prime, n, rng, GenerateOptions().with_temperature(temperature).with_greedy(temperature == 0));
  train(was_training);
  return out;
}

EvalResult evaluate(CharLM& model, const std::vector<std::int64_t>& ids, std::size_t batch, std::size_t seq,
                    std::size_t max_tokens) {
  const bool was_training = model.training();
  model.eval();
  NoGradGuard no_grad;
  // With a token budget, fewer lanes of the same length would change what is measured;
  // keep the lanes and stop after enough chunks instead.
  const Lanes lanes(ids, std::min(batch, std::max<std::size_t>(1, (ids.size() - 1) / seq)), seq);
  Tape<float> tape;
  std::vector<StateValues> carried;
  std::vector<std::int64_t> inputs, targets;
  EvalResult r;
  double total = 0;
  for (std::size_t i = 0; i < lanes.chunks(); ++i) {
    if (max_tokens && r.tokens >= max_tokens) break;
    lanes.chunk(i, inputs, targets);
    tape.clear();
    std::vector<State> states;
    for (const auto& v : carried) states.push_back(constant_state(v, tape));
    const float mean = model.loss(tape, inputs, targets, lanes.batch(), states).item();
    total += double(mean) * double(targets.size());
    r.tokens += targets.size();
    carried.clear();
    for (const auto& s : states) carried.push_back(state_values(s));
  }
  r.nats = r.tokens ? total / double(r.tokens) : 0.0;
  model.train(was_training);
  return r;
}

}  // namespace char_lm
