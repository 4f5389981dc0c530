#include "corpus.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "../common/replicas.hpp"
#include "evaluate.hpp"
#include "synthetic.hpp"

namespace sentiment {

using namespace tapenet;

namespace {

std::string vocab_path(const std::string& checkpoint) { return checkpoint + ".vocab"; }

}  // namespace

Splits load_splits(const examples::Args& args, examples::RunConfig& settings, std::uint64_t seed,
                   data::LabelMode labels) {
  Splits s;
  const bool paths = args.has("train") || args.has("dev") || args.has("test");
  if (paths || args.has("data")) {
    if (args.has("train-size")) throw std::invalid_argument("--train-size is for the synthetic treebank (no --data)");
    if (paths && args.has("data")) throw std::invalid_argument("give either --data DIR or --train/--dev/--test");
    if (paths && !(args.has("train") && args.has("dev") && args.has("test")))
      throw std::invalid_argument("--train, --dev and --test go together (or --data DIR with the three files)");
    const std::string dir = args.str("data");
    const std::string train = paths ? args.str("train") : dir + "/train.txt";
    s.train = data::read_trees(train);
    s.dev = data::read_trees(paths ? args.str("dev") : dir + "/dev.txt");
    s.test = data::read_trees(paths ? args.str("test") : dir + "/test.txt");
    s.source = paths ? train : dir;
  } else {
    const std::size_t n = settings.count("train-size", 2000);
    const std::size_t held_out = std::clamp<std::size_t>(n / 6, 50, 500);  // dev and test each
    sentiment::SyntheticTreebank bank = sentiment::make_synthetic_treebank(n, held_out, held_out, seed);
    s.train = std::move(bank.train);
    s.dev = std::move(bank.dev);
    s.test = std::move(bank.test);
    s.source = "synthetic";
  }
  if (labels == data::LabelMode::Binary)
    for (auto* split : {&s.train, &s.dev, &s.test}) *split = data::binary_root_subset(std::move(*split));
  return s;
}

void check_data_source(examples::RunConfig& config, bool synthetic) {
  if (auto saved = config.saved("synthetic"); saved && saved->as_flag() != synthetic)
    throw std::invalid_argument(synthetic ? "the checkpoint was trained with --data: give --data DIR again"
                                          : "the checkpoint was trained on the synthetic treebank: resume without --data");
  config.set("synthetic", examples::ConfigValue::flag(synthetic));
}

data::Vocab load_vocab(const std::string& checkpoint) {
  std::ifstream probe(vocab_path(checkpoint));
  if (!probe) throw std::runtime_error(vocab_path(checkpoint) + ": cannot open the vocabulary saved with the checkpoint");
  return data::Vocab::load(vocab_path(checkpoint));
}

void save_vocab(const data::Vocab& vocab, const std::string& checkpoint) {
  if (!examples::on_root()) return;  // rank 0 writes for every replica
  const std::string path = vocab_path(checkpoint), tmp = path + ".tmp";
  vocab.save(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

void print_probes(const TreeNet<float>& net, const data::Vocab& vocab, data::LabelMode labels, int threads) {
  const std::vector<Example> probes = sentiment::make_examples(sentiment::synthetic_probes(), vocab);
  const auto probs = sentiment::node_probabilities(net, probes, threads);
  std::cout << "probes (predicted root / gold" << (labels == data::LabelMode::Binary ? ", neutral ones skipped" : "")
            << "):\n";
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const data::Tree& t = probes[i].tree;
    const int gold = data::mode_label(t.root_label(), labels);
    if (gold == data::kDroppedLabel) continue;
    const int c = argmax_rows(probs[i])[static_cast<std::size_t>(t.root)];
    std::string text;
    for (const auto& w : t.words()) text += (text.empty() ? "" : " ") + w;
    std::cout << "  " << (c == gold ? "ok " : "BAD") << " " << c << " / " << gold << "  " << text << "\n";
  }
}

}  // namespace sentiment
