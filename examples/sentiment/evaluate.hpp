// Evaluation of a TreeNet: the figures of Socher et al. 2013, Table 1, plus the loss.
//
// A fine-grained net (5 classes, LabelMode::Fine):
//   root_fine    argmax class of the root == gold root label, over all trees
//   all_fine     the same over every labelled node (all phrases, not deduplicated)
//   root_binary  over trees whose gold root is not neutral (SST-2 evaluation set), gold
//                0-1 -> negative, 3-4 -> positive. The prediction comes from the same
//                5-class softmax: positive iff P(3) + P(4) > P(0) + P(1), i.e. the
//                neutral class is left out and the two sides' probability masses are
//                compared (ties -> negative).
//   root_binary_strict  the stricter reading: argmax class mapped 0-1 / 3-4; a neutral
//                argmax counts as wrong. Reported for comparison only.
// A binary net (2 classes, LabelMode::Binary, trained on SST-2):
//   root_binary  argmax of the 2-class softmax == binary gold, over non-neutral roots
//   all_binary   the same over every non-neutral labelled node
//   The fine-grained figures do not exist for it and stay NaN.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapenet/data/tree.hpp>
#include <tapenet/layers/tree_nets.hpp>

namespace sentiment {

struct Scores {
  tapenet::data::LabelMode mode = tapenet::data::LabelMode::Fine;
  // Percentages; NaN where the mode has no such figure.
  double root_fine = NAN, all_fine = NAN, root_binary = NAN, root_binary_strict = NAN, all_binary = NAN;
  double loss = 0;  // mean per tree of the summed node cross-entropy (no L2)
  std::size_t trees = 0, nodes = 0, binary_trees = 0;

  // The figure early stopping selects on: root fine-grained, or root binary for a binary net.
  double selection() const { return mode == tapenet::data::LabelMode::Fine ? root_fine : root_binary; }
  // One line for logs, e.g. "root 43.5% (binary 81.7%), all phrases 79.4%".
  std::string summary() const;
};

// A tree with its vocabulary indices, ready for TreeNet::forward.
struct Example {
  tapenet::data::Tree tree;
  std::vector<std::int64_t> word_ids;
};

std::vector<Example> make_examples(const std::vector<tapenet::data::Tree>& trees, const tapenet::data::Vocab& vocab);

// The label mode a net was built for: Binary for 2 classes, Fine for 5.
tapenet::data::LabelMode label_mode(const tapenet::TreeNet<float>& net);

// Softmax probabilities [n_nodes, classes] of every node, for every example, in evaluation
// mode (the caller puts the net in eval()); runs on `threads` threads via parallel_evaluate.
std::vector<tapenet::Tensor<float>> node_probabilities(const tapenet::TreeNet<float>& net,
                                                       const std::vector<Example>& examples, int threads,
                                                       std::vector<double>* losses = nullptr);
// The same under mpirun: the examples shared out over the ranks, every rank ending with
// all the results (the same bits as one process). evaluate() uses it.
std::vector<tapenet::Tensor<float>> shared_node_probabilities(const tapenet::TreeNet<float>& net,
                                                              const std::vector<Example>& examples, int threads,
                                                              std::vector<double>* losses = nullptr);

// The predicted binary class of a node from its 5 probabilities: 1 (positive) iff
// P(3) + P(4) > P(0) + P(1).
int binary_from_fine(const float* probs);
int argmax5(const float* probs);

Scores evaluate(const tapenet::TreeNet<float>& net, const std::vector<Example>& examples, int threads);

}  // namespace sentiment
