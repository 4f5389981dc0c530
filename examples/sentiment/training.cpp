#include "training.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>

#include "../common/run_checkpoint.hpp"
#include <tapenet/autograd/parallel_batch.hpp>
#include <tapenet/distributed/data_parallel.hpp>
#include <tapenet/data/seeds.hpp>
#include <tapenet/optim/checkpoint.hpp>

namespace sentiment {

using namespace tapenet;

namespace {

// L2 λ of a parameter class. RNN/RNTN: Stanford CoreNLP's RNTN defaults
// (SentimentTrainOptions: regTransformMatrix and regTransformTensor 1e-3, regClassification
// 1e-4; biases unregularised, CoreNLP drops the bias column). Tree-LSTM: Tai et al.'s 1e-4
// on every weight matrix. The word vectors: --l2-words.
double l2_lambda(ParamClass c, const TrainOptions& opts, bool is_lstm) {
  switch (c) {
    case ParamClass::Composition: return is_lstm ? 1e-4 : 1e-3;
    case ParamClass::Classifier: return 1e-4;
    case ParamClass::WordVectors: return opts.l2_words;
    case ParamClass::Bias: return 0;
  }
  return 0;
}

std::vector<std::int64_t> concatenated(const std::vector<std::vector<std::int64_t>>& lists) {
  std::vector<std::int64_t> all;
  for (const auto& list : lists) all.insert(all.end(), list.begin(), list.end());
  return all;
}

// One minibatch of n trees whose summed gradients are in the parameters' grad:
// g = (1/n) Σ_trees ∂loss/∂θ + λ_class·θ (CoreNLP's batch gradient: the groups' weight
// decay), the optimizer's step, then the average.
void update_parameters(TreeNet<float>& net, TrainingOptimizer& optimizer, ParameterAverage<float>* average,
                       std::size_t n, const std::vector<std::vector<std::int64_t>>& tree_words) {
  for (auto* p : net.parameters()) p->grad *= 1.0f / static_cast<float>(n);
  if (optimizer.words->groups()[optimizer.words_group].decay_active_rows_only)
    optimizer.words->set_active_rows(optimizer.words_group, concatenated(tree_words));
  optimizer.set.step();
  if (average) average->update();
}

// The checkpoint's state entries that are not the optimizer's (the layout: training.hpp).
bool is_trainer_key(const std::string& key) {
  for (const char* prefix : {"trainer/", "best/", "best_binary/", "average/"})
    if (key.rfind(prefix, 0) == 0) return true;
  return false;
}

// The "average/..." entries of a checkpoint go to `average`; both or neither must be there.
void load_average_state(const std::map<std::string, Tensor<float>>& state, ParameterAverage<float>* average,
                        const std::string& path) {
  ParameterAverage<float>::StateDict saved;
  for (const auto& [key, value] : state)
    if (key.rfind("average/", 0) == 0) saved[key.substr(8)] = value;
  if (saved.empty() != (average == nullptr))
    throw std::invalid_argument(path + (average ? " holds no parameter average: resume without --average"
                                                : " was trained with --average: give it again with --resume"));
  if (average) average->load_state_dict(saved);
}

}  // namespace

TrainingOptimizer make_optimizer(TreeNet<float>& net, const TrainOptions& opts, bool is_lstm) {
  ParamGroups<float> groups, word_groups;
  ParamClass last = ParamClass::WordVectors;
  for (Parameter<float>* p : net.parameters()) {
    const ParamClass c = net.parameter_class(*p);
    ParamGroups<float>& target = c == ParamClass::WordVectors && opts.embed_sgd > 0 ? word_groups : groups;
    if (target.empty() || c != last || c == ParamClass::WordVectors)
      target.push_back(ParamGroup<float>().with_weight_decay(l2_lambda(c, opts, is_lstm)));
    target.back().params.push_back(p);
    if (c == ParamClass::WordVectors)
      target.back().with_lr_scale(opts.embed_lr_scale).with_decay_active_rows_only(opts.l2_words_in_batch);
    last = c;
  }
  std::unique_ptr<Optimizer<float>> main;
  if (opts.adam)
    main = std::make_unique<Adam<float>>(groups, AdamOptions().with_lr(opts.lr));
  else  // CoreNLP's AdaGrad: θ -= lr·g / (√Σg² + 1e-3)
    main = std::make_unique<AdaGrad<float>>(groups, AdaGradOptions().with_lr(opts.lr).with_eps(1e-3));
  if (opts.clip > 0) main->set_clip_norm(static_cast<float>(opts.clip));
  TrainingOptimizer out;
  out.set.add("", std::move(main));
  if (!word_groups.empty())
    out.set.add("embed_sgd/", std::make_unique<SGD<float>>(word_groups, SGDOptions().with_lr(opts.embed_sgd)));
  out.words = &out.set[out.set.size() - 1];
  for (std::size_t g = 0; g < out.words->groups().size(); ++g)
    for (const Parameter<float>* p : out.words->groups()[g].params)
      if (p == &net.embedding.table) out.words_group = g;
  return out;
}

std::size_t BatchTrainer::start_epoch(int epoch) {
  // CoreNLP resets AdaGrad's history every adagradResetFrequency epochs.
  if (opts.adagrad_reset > 0 && epoch > 0 && epoch % opts.adagrad_reset == 0) optimizer.set.reset_state();
  net.train();
  order.resize(train.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle_rng(data::mix_seed(seed, static_cast<std::uint64_t>(epoch)));
  std::shuffle(order.begin(), order.end(), shuffle_rng);
  loss_sum = 0;
  trees = 0;
  return (train.size() + opts.batch - 1) / opts.batch;
}

examples::StepResult BatchTrainer::train_batch(int epoch, std::size_t batch) {
  const std::size_t b0 = batch * opts.batch, n = std::min(opts.batch, order.size() - b0);
  ParallelOptions parallel;
  parallel.threads = opts.threads;
  optimizer.set.zero_grad();
  // Every rank knows the words of the whole batch (the update decays their rows) but
  // records only its own chunks of trees: under mpirun the batch is shared out.
  std::vector<std::vector<std::int64_t>> tree_words(n);
  for (std::size_t i = 0; i < n; ++i)
    tree_words[i] = replace_words(train[order[b0 + i]].word_ids, static_cast<std::uint64_t>(epoch), b0 + i);
  const float loss = distributed::distributed_batch<float>(
      distributed::world(), n,
      [&](Tape<float>& tape, std::size_t i) {
        const Example& ex = train[order[b0 + i]];
        std::mt19937_64 drop_rng(data::mix_seed(seed, static_cast<std::uint64_t>(epoch), b0 + i + 1));
        return net.forward(tape, ex.tree, tree_words[i], labels, &drop_rng).loss;
      },
      net.parameters(), parallel);
  update_parameters(net, optimizer, average, n, tree_words);
  loss_sum += loss;
  trees += n;
  return {loss, double(n)};
}

Selection::Selection(const ParameterList<float>& params, int patience, bool fine)
    : stopping(params, patience, "best"), best_binary(params, "best_binary"), fine_net(fine) {}

void Selection::save(std::map<std::string, Tensor<float>>& state) const {
  stopping.save(state);
  if (fine_net) best_binary.save(state);
}

void Selection::load(const std::map<std::string, Tensor<float>>& state, const std::string& path) {
  stopping.load(state, path);
  if (fine_net && best_binary.saved_in(state))
    best_binary.load(state, path);
  else  // a checkpoint from before best_binary: start from the best epoch
    best_binary.start_from(stopping.best());
}

void resume_from(const std::string& checkpoint, const ParameterList<float>& params, const TrainOptions& opts,
                 TrainingOptimizer& optimizer, Selection& selection, ParameterAverage<float>* average,
                 std::size_t epochs_done) {
  auto state = load_checkpoint(checkpoint, params);
  selection.load(state, checkpoint);
  Optimizer<float>::StateDict opt_state;
  for (auto& [k, v] : state)
    if (!is_trainer_key(k)) opt_state[k] = v;
  optimizer.set.load_state_dict(opt_state);
  optimizer.set[0].set_lr(static_cast<float>(opts.lr));  // the checkpoint's, or a given --lr that overrides it
  load_average_state(state, average, checkpoint);
  std::cout << "resumed from " << checkpoint << " after epoch " << epochs_done << " (best dev root "
            << pct(selection.stopping.best().score()) << " at epoch " << selection.stopping.best().epoch() << ")\n";
}

void TrainRun::save(const examples::LoopState& s) const {
  if (checkpoint.empty()) return;
  Optimizer<float>::StateDict state = optimizer.set.state_dict();
  selection.save(state);
  if (average)
    for (auto& [key, value] : average->state_dict()) state["average/" + key] = value;
  examples::save_run(checkpoint, net.parameters(), state, examples::RunRecord{run_config.values(), s, {{"curves", plot.record()}}});
}

examples::Evaluation TrainRun::evaluate(const examples::LoopState& s) {
  epoch_train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
  net.eval();
  if (average) average->swap();  // the averaged parameters in, the trained ones out
  last_dev = sentiment::evaluate(net, dev, opts.threads);
  if (selection.fine_net) selection.best_binary.offer(last_dev.root_binary, static_cast<int>(s.epoch));
  return {last_dev.selection()};
}

void TrainRun::after_evaluation(const examples::LoopState& s, const examples::Evaluation& e) {
  if (average) average->swap();
  plot.add("training loss per tree", double(s.epoch), trainer.loss_sum / double(train.size()));
  plot.add("dev root accuracy", double(s.epoch), last_dev.selection(), 1);
  plot.draw();
  std::cout << "epoch " << s.epoch << ": train loss/tree " << std::setprecision(4)
            << trainer.loss_sum / double(train.size()) << "  dev " << last_dev.summary()
            << (e.improved ? "  * best" : "") << "  [" << std::setprecision(3)
            << double(train.size()) / epoch_train_seconds << " trees/s]" << std::endl;
}

std::string TrainRun::status(const examples::LoopState& s) const {
  const double best = selection.stopping.best().score();
  std::ostringstream text;
  text << "epoch " << s.epoch + (s.batch ? 1 : 0) << "/" << opts.epochs << "  loss/tree " << std::setprecision(4)
       << trainer.loss_sum / double(std::max<std::size_t>(1, trainer.trees)) << "  best dev "
       << (best < 0 ? std::string("-") : pct(best));
  return text.str();
}

examples::LoopOutcome TrainRun::run(examples::LoopState& state) {
  examples::LoopOptions lo;
  lo.epochs = static_cast<std::size_t>(opts.epochs);
  lo.selection = &selection.stopping;
  lo.unit = "trees";
  lo.total_items = double((lo.epochs - std::min(lo.epochs, state.epoch)) * train.size());
  examples::LoopHooks hooks;
  hooks.start_epoch = [this](std::size_t e) {
    epoch_start = std::chrono::steady_clock::now();
    return trainer.start_epoch(static_cast<int>(e));
  };
  hooks.train_batch = [this](const examples::LoopState& s) {
    return trainer.train_batch(static_cast<int>(s.epoch), s.batch);
  };
  hooks.status = [this](const examples::LoopState& s) { return status(s); };
  hooks.evaluate = [this](const examples::LoopState& s) { return evaluate(s); };
  hooks.after_step = [this](const examples::LoopState& s, const examples::StepResult&,
                            const examples::Evaluation* e) {
    if (e) after_evaluation(s, *e);
  };
  hooks.save = [this](const examples::LoopState& s) { save(s); };
  return examples::run_training_loop(lo, hooks, state);
}

}  // namespace sentiment
