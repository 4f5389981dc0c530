// One training loop for every example: epochs of batches from a resumable position,
// evaluation on a schedule with best-on-valid selection and early stopping (the library's
// EarlyStopping, optim/early_stopping.hpp, when the example gives one), checkpoints
// (at evaluations, at epoch ends, every few seconds, at a time limit), and the progress
// bar. An example brings its data, its model and its figures through LoopHooks; the
// loop owns the order of events, so every example resumes, stops and selects alike.
//
// Order of events for one batch:
//   [start_epoch(e) when batch 0 of epoch e begins]
//   train_batch(state) -> result; state.step, state.batch advance
//   [epoch end: state.epoch + 1, state.batch = 0]
//   [evaluate(state) when due: every `evaluate_every` steps, else at each epoch end;
//    also at a stop when evaluate_at_stop] -> offered to the selection, if any
//   after_step(state, result, evaluation or null)
//   [save(state) when due: after an evaluation, at an epoch end, every
//    `save_every_seconds`, and when the run stops (done, time limit, patience)]
// Under mpirun every rank runs the loop in lockstep: the time limit is decided on the
// slowest rank's clock, so all stop at the same batch; rank 0 alone draws the progress bar
// and calls save (a save hook must not communicate).
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <string>

#include <tapenet/optim/early_stopping.hpp>
#include "progress.hpp"
#include "replicas.hpp"
#include "run_config.hpp"

namespace tapenet::examples {

// Where a run is; saved in every checkpoint, so that a resumed run continues at the next
// batch. (What it has selected is the EarlyStopping's, saved by the example beside it.)
struct LoopState {
  std::size_t epoch = 0;   // the epoch being trained, from 0
  std::size_t batch = 0;   // batches of it trained
  std::size_t step = 0;    // batches trained over all epochs
  double train_seconds = 0;  // time in train_batch, over every session of the run
  double items = 0;          // examples trained on, over every session

  ConfigValues to_values() const;
  // Throws std::invalid_argument naming `what` when an entry is missing.
  static LoopState from_values(const ConfigValues& values, const std::string& what);
};

struct StepResult {
  double loss = NAN;
  double items = 0;      // examples in the batch (the progress bar's unit)
  bool skipped = false;  // the update was not applied (e.g. a non-finite gradient)
};

struct Evaluation {
  double score = NAN;     // the selection figure; NaN: this evaluation selects nothing
  bool improved = false;  // set by the loop: the selection's best so far
};

struct LoopHooks {
  std::function<std::size_t(std::size_t epoch)> start_epoch;  // prepares epoch, returns its batch count
  std::function<StepResult(const LoopState&)> train_batch;   // trains batch `state.batch` of `state.epoch`
  std::function<std::string(const LoopState&)> status;      // progress bar text (optional)
  std::function<Evaluation(const LoopState&)> evaluate;     // optional
  std::function<void(const LoopState&, const StepResult&, const Evaluation*)> after_step;  // optional
  std::function<void(const LoopState&)> save;               // writes the checkpoint (optional)
};

struct LoopOptions {
  std::size_t epochs = 1;          // train to the end of this epoch
  std::size_t max_steps = 0;       // or to this many steps in all (0: no step limit)
  std::size_t evaluate_every = 0;  // steps between evaluations; 0: at every epoch end
  bool evaluate_at_stop = false;   // evaluate when the run stops between evaluations
  double save_every_seconds = 0;   // checkpoint between evaluations this often (0: never)
  double max_seconds = 0;          // stop after this much time since `clock_start` (0: no limit)
  std::chrono::steady_clock::time_point clock_start = std::chrono::steady_clock::now();
  // Offered every evaluation's score (negated when lower is better): keeps the best
  // parameters, and stops the run when its patience runs out. Null: nothing is selected.
  EarlyStopping<float>* selection = nullptr;
  bool higher_is_better = true;    // of Evaluation::score
  std::string unit = "items";      // of StepResult::items, for the progress bar
  double total_items = 0;          // expected this session, for the progress bar (0: no bar)
};

struct LoopOutcome {
  bool out_of_time = false;    // max_seconds stopped the run
  bool stopped_early = false;  // patience ran out
  double session_items = 0, session_train_seconds = 0;
};

// Offers an evaluation to options.selection (at `epochs_done`) and sets e.improved. A NaN
// score, or no selection, selects nothing.
void record_evaluation(Evaluation& e, const LoopOptions& options, std::size_t epochs_done);

// Trains from `state` until the epochs or steps are done, the time limit or patience stops it;
// `state` is left at the next batch to train.
LoopOutcome run_training_loop(const LoopOptions& options, const LoopHooks& hooks, LoopState& state);

// ---- implementation ---------------------------------------------------------------------------

inline ConfigValues LoopState::to_values() const {
  return {{"epoch", ConfigValue::integer(long(epoch))},
          {"batch", ConfigValue::integer(long(batch))},
          {"step", ConfigValue::integer(long(step))},
          {"train_seconds", ConfigValue::real(train_seconds)},
          {"items", ConfigValue::real(items)}};
}

inline LoopState LoopState::from_values(const ConfigValues& values, const std::string& what) {
  auto get = [&](const std::string& key) -> const ConfigValue& {
    auto it = values.find(key);
    if (it == values.end()) throw std::invalid_argument(what + " lacks the loop entry '" + key + "'");
    return it->second;
  };
  auto whole = [&](const std::string& key) { return static_cast<std::size_t>(get(key).as_integer()); };
  LoopState s;
  s.epoch = whole("epoch");
  s.batch = whole("batch");
  s.step = whole("step");
  s.train_seconds = get("train_seconds").as_real();
  s.items = get("items").as_real();
  return s;
}

namespace train_loop_detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace train_loop_detail

inline void record_evaluation(Evaluation& e, const LoopOptions& options, std::size_t epochs_done) {
  if (!options.selection || std::isnan(e.score)) return;
  e.improved = options.selection->offer(options.higher_is_better ? e.score : -e.score, static_cast<int>(epochs_done));
}

inline LoopOutcome run_training_loop(const LoopOptions& options, const LoopHooks& hooks, LoopState& state) {
  using namespace train_loop_detail;
  const bool step_limited = options.max_steps > 0;
  auto finished = [&] {
    return state.epoch >= options.epochs || (step_limited && state.step >= options.max_steps);
  };
  LoopOutcome outcome;
  if (options.selection && options.selection->stop()) {  // resumed after its patience ran out
    outcome.stopped_early = true;
    return outcome;
  }
  Progress progress(static_cast<std::size_t>(options.total_items), options.unit);
  auto last_save = Clock::now();
  std::size_t batches = 0;  // in the current epoch
  bool epoch_prepared = false;
  while (!finished()) {
    if (!epoch_prepared) {
      batches = hooks.start_epoch(state.epoch);
      epoch_prepared = true;
    }
    const auto step_start = Clock::now();
    const StepResult result = hooks.train_batch(state);
    const double step_seconds = seconds_since(step_start);
    state.train_seconds += step_seconds;
    outcome.session_train_seconds += step_seconds;
    state.items += result.items;
    outcome.session_items += result.items;
    ++state.step;
    const bool epoch_end = ++state.batch >= batches;
    if (epoch_end) {
      ++state.epoch;
      state.batch = 0;
      epoch_prepared = false;
    }
    if (options.total_items > 0 && on_root())
      progress.update(static_cast<std::size_t>(outcome.session_items), hooks.status ? hooks.status(state) : "");

    outcome.out_of_time = options.max_seconds > 0 &&
                          world().max(seconds_since(options.clock_start)) >= options.max_seconds && !finished();
    const bool due = options.evaluate_every ? state.step % options.evaluate_every == 0 : epoch_end;
    const bool last = finished() || outcome.out_of_time;
    Evaluation evaluation;
    const bool evaluating = hooks.evaluate && (due || (last && options.evaluate_at_stop));
    if (evaluating) {
      evaluation = hooks.evaluate(state);
      record_evaluation(evaluation, options, state.epoch);
      outcome.stopped_early = options.selection && options.selection->stop() && !finished();
    }
    if (hooks.after_step) hooks.after_step(state, result, evaluating ? &evaluation : nullptr);
    const bool save_due = evaluating || epoch_end || last || outcome.stopped_early ||
                          (options.save_every_seconds > 0 && seconds_since(last_save) > options.save_every_seconds);
    if (hooks.save && save_due) {
      if (on_root()) hooks.save(state);
      last_save = Clock::now();
    }
    if (outcome.out_of_time || outcome.stopped_early) break;
  }
  return outcome;
}

}  // namespace tapenet::examples
