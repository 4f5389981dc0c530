#include "evaluate.hpp"

#include "autograd/parallel_batch.hpp"

namespace sentiment {

using namespace tapenet;

std::vector<Example> make_examples(const std::vector<data::Tree>& trees, const data::Vocab& vocab) {
  std::vector<Example> out;
  out.reserve(trees.size());
  for (const data::Tree& t : trees) out.push_back({t, leaf_word_ids(t, vocab)});
  return out;
}

std::vector<Tensor<float>> node_probabilities(const TreeNet<float>& net, const std::vector<Example>& examples,
                                              int threads, std::vector<double>* losses) {
  std::vector<Tensor<float>> probs(examples.size());
  if (losses) losses->assign(examples.size(), 0.0);
  ParallelOptions options;
  options.threads = threads;
  // Each example writes only its own slot, so the chunks may run in any order.
  parallel_evaluate<float>(
      examples.size(),
      [&](Tape<float>& tape, std::size_t i) {
        TreeOutput<float> out = net.forward(tape, examples[i].tree, examples[i].word_ids, data::LabelMode::Fine);
        probs[i] = softmax(out.logits, 1).value();
        if (losses) (*losses)[i] = out.loss.item();
        return out.loss;
      },
      options);
  return probs;
}

int argmax5(const float* p) {
  int best = 0;
  for (int c = 1; c < data::kNumFineLabels; ++c)
    if (p[c] > p[best]) best = c;
  return best;
}

int binary_from_fine(const float* p) { return p[3] + p[4] > p[0] + p[1] ? 1 : 0; }

Scores evaluate(const TreeNet<float>& net, const std::vector<Example>& examples, int threads) {
  std::vector<double> losses;
  const std::vector<Tensor<float>> probs = node_probabilities(net, examples, threads, &losses);
  std::size_t root_ok = 0, node_ok = 0, bin_ok = 0, strict_ok = 0;
  Scores s;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const data::Tree& tree = examples[i].tree;
    const float* p = probs[i].data();
    s.loss += losses[i];
    for (std::size_t n = 0; n < tree.size(); ++n) {
      const int gold = tree.nodes[n].label;
      if (gold == data::kUnknownLabel) continue;
      const float* pn = p + n * data::kNumFineLabels;
      const bool ok = argmax5(pn) == gold;
      ++s.nodes;
      node_ok += ok;
      if (static_cast<int>(n) != tree.root) continue;
      ++s.trees;
      root_ok += ok;
      if (gold == 2) continue;
      ++s.binary_trees;
      bin_ok += binary_from_fine(pn) == data::binary_label(gold);
      const int fine = argmax5(pn);
      strict_ok += fine != 2 && data::binary_label(fine) == data::binary_label(gold);
    }
  }
  auto pct = [](std::size_t ok, std::size_t n) { return n ? 100.0 * double(ok) / double(n) : 0.0; };
  s.root_fine = pct(root_ok, s.trees);
  s.all_fine = pct(node_ok, s.nodes);
  s.root_binary = pct(bin_ok, s.binary_trees);
  s.root_binary_strict = pct(strict_ok, s.binary_trees);
  if (!examples.empty()) s.loss /= double(examples.size());
  return s;
}

}  // namespace sentiment
