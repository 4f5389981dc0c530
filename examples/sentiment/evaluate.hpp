// Evaluation of a fine-grained (5-class) TreeNet: the three figures of Socher et al. 2013,
// Table 1, plus the loss.
//
//   root_fine    argmax class of the root == gold root label, over all trees
//   all_fine     the same over every labelled node (all phrases, not deduplicated)
//   root_binary  over trees whose gold root is not neutral (SST-2 evaluation set), gold
//                0-1 -> negative, 3-4 -> positive. The prediction comes from the same
//                5-class softmax: positive iff P(3) + P(4) > P(0) + P(1), i.e. the
//                neutral class is left out and the two sides' probability masses are
//                compared (ties -> negative). No separate binary model is trained.
//   root_binary_strict  the stricter reading: argmax class mapped 0-1 / 3-4; a neutral
//                argmax counts as wrong. Reported for comparison only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/tree.hpp"
#include "layers/tree_nets.hpp"

namespace sentiment {

struct Scores {
  double root_fine = 0, all_fine = 0, root_binary = 0, root_binary_strict = 0;  // percentages
  double loss = 0;  // mean per tree of the summed node cross-entropy (no L2)
  std::size_t trees = 0, nodes = 0, binary_trees = 0;
};

// A tree with its vocabulary indices, ready for TreeNet::forward.
struct Example {
  tapenet::data::Tree tree;
  std::vector<std::int64_t> word_ids;
};

std::vector<Example> make_examples(const std::vector<tapenet::data::Tree>& trees, const tapenet::data::Vocab& vocab);

// Softmax probabilities [n_nodes, 5] of every node, for every example, in evaluation mode
// (the caller puts the net in eval()); runs on `threads` threads via parallel_evaluate.
std::vector<tapenet::Tensor<float>> node_probabilities(const tapenet::TreeNet<float>& net,
                                                       const std::vector<Example>& examples, int threads,
                                                       std::vector<double>* losses = nullptr);

// The predicted binary class of a node from its 5 probabilities: 1 (positive) iff
// P(3) + P(4) > P(0) + P(1).
int binary_from_fine(const float* probs);
int argmax5(const float* probs);

Scores evaluate(const tapenet::TreeNet<float>& net, const std::vector<Example>& examples, int threads);

}  // namespace sentiment
