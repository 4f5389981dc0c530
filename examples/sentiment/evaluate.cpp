#include "evaluate.hpp"

#include <iomanip>
#include <sstream>

#include <tapenet/autograd/parallel_batch.hpp>
#include <tapenet/distributed/data_parallel.hpp>

namespace sentiment {

using namespace tapenet;

std::string Scores::summary() const {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  if (mode == data::LabelMode::Fine)
    s << "root " << root_fine << "% (binary " << root_binary << "%), all phrases " << all_fine << "%";
  else
    s << "root binary " << root_binary << "%, all non-neutral phrases " << all_binary << "%";
  return s.str();
}

std::vector<Example> make_examples(const std::vector<data::Tree>& trees, const data::Vocab& vocab) {
  std::vector<Example> out;
  out.reserve(trees.size());
  for (const data::Tree& t : trees) out.push_back({t, leaf_word_ids(t, vocab)});
  return out;
}

data::LabelMode label_mode(const TreeNet<float>& net) {
  return net.classes() == static_cast<std::size_t>(data::num_classes(data::LabelMode::Binary)) ? data::LabelMode::Binary
                                                                                              : data::LabelMode::Fine;
}

namespace {

// node_probabilities of examples [first, last) only, entry i - first for example i.
std::vector<Tensor<float>> probabilities_of_range(const TreeNet<float>& net, const std::vector<Example>& examples,
                                                  std::size_t first, std::size_t last, int threads,
                                                  std::vector<double>* losses) {
  std::vector<Tensor<float>> probs(last - first);
  if (losses) losses->assign(last - first, 0.0);
  ParallelOptions options;
  options.threads = threads;
  const data::LabelMode mode = label_mode(net);
  // Each example writes only its own slot, so the chunks may run in any order.
  parallel_evaluate<float>(
      last - first,
      [&](Tape<float>& tape, std::size_t k) {
        const Example& ex = examples[first + k];
        TreeOutput<float> out = net.forward(tape, ex.tree, ex.word_ids, mode);
        probs[k] = softmax(out.logits, 1).value();
        if (losses) (*losses)[k] = out.loss.item();
        return out.loss;
      },
      options);
  return probs;
}

}  // namespace

std::vector<Tensor<float>> node_probabilities(const TreeNet<float>& net, const std::vector<Example>& examples,
                                              int threads, std::vector<double>* losses) {
  return probabilities_of_range(net, examples, 0, examples.size(), threads, losses);
}

// Each rank scores its contiguous share; the probabilities and losses are then gathered
// in rank order (= example order) as flat arrays and cut back into trees.
std::vector<Tensor<float>> shared_node_probabilities(const TreeNet<float>& net, const std::vector<Example>& examples,
                                                     int threads, std::vector<double>* losses) {
  const distributed::World& world = distributed::world();
  if (!world.distributed()) return node_probabilities(net, examples, threads, losses);
  const distributed::ChunkRange mine = distributed::owned_chunks(examples.size(), world.rank(), world.size());
  std::vector<double> my_losses;
  std::vector<float> flat;
  for (const Tensor<float>& p : probabilities_of_range(net, examples, mine.first, mine.last, threads, &my_losses))
    flat.insert(flat.end(), p.data(), p.data() + p.size());
  const std::vector<float> all = world.all_gather(flat);
  if (losses) *losses = world.all_gather(my_losses);
  std::vector<Tensor<float>> probs;
  const std::size_t classes = net.classes();
  std::size_t at = 0;
  for (const Example& ex : examples) {
    Tensor<float> p = zeros<float>({ex.tree.size(), classes});
    std::copy(all.begin() + std::ptrdiff_t(at), all.begin() + std::ptrdiff_t(at + p.size()), p.data());
    at += p.size();
    probs.push_back(std::move(p));
  }
  return probs;
}

int argmax5(const float* p) {
  int best = 0;
  for (int c = 1; c < data::kNumFineLabels; ++c)
    if (p[c] > p[best]) best = c;
  return best;
}

int binary_from_fine(const float* p) { return p[3] + p[4] > p[0] + p[1] ? 1 : 0; }

namespace {

double pct(std::size_t ok, std::size_t n) { return n ? 100.0 * double(ok) / double(n) : 0.0; }

// A 5-class net: root and all-phrase fine-grained accuracy, and binary from the fine softmax.
void score_fine(const std::vector<Example>& examples, const std::vector<Tensor<float>>& probs, Scores& s) {
  std::size_t root_ok = 0, node_ok = 0, bin_ok = 0, strict_ok = 0;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const data::Tree& tree = examples[i].tree;
    for (std::size_t n = 0; n < tree.size(); ++n) {
      const int gold = tree.nodes[n].label;
      if (gold == data::kUnknownLabel) continue;
      const float* pn = probs[i].data() + n * data::kNumFineLabels;
      const int fine = argmax5(pn);
      ++s.nodes;
      node_ok += fine == gold;
      if (static_cast<int>(n) != tree.root) continue;
      ++s.trees;
      root_ok += fine == gold;
      if (gold == 2) continue;
      ++s.binary_trees;
      bin_ok += binary_from_fine(pn) == data::binary_label(gold);
      strict_ok += fine != 2 && data::binary_label(fine) == data::binary_label(gold);
    }
  }
  s.root_fine = pct(root_ok, s.trees);
  s.all_fine = pct(node_ok, s.nodes);
  s.root_binary = pct(bin_ok, s.binary_trees);
  s.root_binary_strict = pct(strict_ok, s.binary_trees);
}

// A 2-class net: argmax against the binary gold over the non-neutral roots and nodes.
void score_binary(const std::vector<Example>& examples, const std::vector<Tensor<float>>& probs, Scores& s) {
  std::size_t root_ok = 0, node_ok = 0;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const data::Tree& tree = examples[i].tree;
    const std::vector<int> predicted = argmax_rows(probs[i]);
    ++s.trees;
    for (std::size_t n = 0; n < tree.size(); ++n) {
      const int label = tree.nodes[n].label;
      if (label == data::kUnknownLabel || label == 2) continue;
      const bool ok = predicted[n] == data::binary_label(label);
      ++s.nodes;
      node_ok += ok;
      if (static_cast<int>(n) != tree.root) continue;
      ++s.binary_trees;
      root_ok += ok;
    }
  }
  s.root_binary = pct(root_ok, s.binary_trees);
  s.all_binary = pct(node_ok, s.nodes);
}

}  // namespace

Scores evaluate(const TreeNet<float>& net, const std::vector<Example>& examples, int threads) {
  std::vector<double> losses;
  const std::vector<Tensor<float>> probs = shared_node_probabilities(net, examples, threads, &losses);
  Scores s;
  s.mode = label_mode(net);
  if (s.mode == data::LabelMode::Fine)
    score_fine(examples, probs, s);
  else
    score_binary(examples, probs, s);
  for (double l : losses) s.loss += l;
  if (!examples.empty()) s.loss /= double(examples.size());
  return s;
}

}  // namespace sentiment
