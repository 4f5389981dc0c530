#include "model.hpp"

#include <stdexcept>

#include <tapenet/layers/cell_factory.hpp>

namespace char_lm {

using namespace tapenet;

namespace {

LanguageModelOptions options_of(const ModelConfig& c) {
  return LanguageModelOptions{c.vocab, c.embed, c.hidden, c.layers}.with_dropout(c.dropout).with_embedding_dropout(false);
}

}  // namespace

CharLM::CharLM(const ModelConfig& config, std::mt19937_64& rng)
    : RNNLanguageModel<float>(options_of(config), cell_factory<float>(parse_cell(config.cell), rng), rng),
      config_(config) {}

EvalResult evaluate(CharLM& model, const std::vector<std::int64_t>& ids, std::size_t batch, std::size_t seq,
                    std::size_t max_tokens) {
  const StreamEvaluation r = evaluate_stream(model, ids, batch, seq, max_tokens);
  return EvalResult{r.nats, r.tokens};
}

}  // namespace char_lm
