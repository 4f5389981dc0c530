// Neural machine translation with an attention encoder–decoder (Bahdanau et al. 2015):
// "the network first reads and memorises the sentence; when it sees the end token it starts
// to output the translation" (Cho et al. 2014; Sutskever et al. 2014).
//
//   m_{1..S} = BiGRU(E_src x)                          encoder outputs (padded batch, masked)
//   h_0 = tanh(W_br [→h_S ; ←h_1])                      decoder initial state (Sutskever)
//   c_t = Σ_s softmax_s(vᵀ tanh(W_q h_{t-1} + W_k m_s)) m_s    attention (padding gets weight 0)
//   h_t = GRU([E_tgt y_{t-1} ; c_t], h_{t-1})           (Cho: the context at every step)
//   p(y_t | y_<t, x) = softmax(W_o [h_t ; c_t] + b_o)
// Training maximises log p(y | x) with teacher forcing over time-major padded batches (one
// tape per batch); translation is beam search with length normalisation.
//
// Subcommands:
//   translate train     [--data eng-fra.txt] [--tutorial-filter] ... --checkpoint FILE [--resume]
//   translate eval      --checkpoint FILE [--metrics-out FILE]        test BLEU and perplexity
//   translate translate --checkpoint FILE [--show-attention]          stdin sentences -> translations
// Without --data: a built-in task, English number words -> digits ("forty two" -> "4 2").
// The checkpoint FILE (.npz, examples/common/run_checkpoint.hpp) holds the options (run/config)
// and the loop's position; its companions FILE.src.vocab / FILE.tgt.vocab hold the vocabularies.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/plot.hpp"
#include "../common/progress.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/train_loop.hpp"
#include "setup.hpp"
#include "autograd/parallel_batch.hpp"
#include "optim/checkpoint.hpp"
#include "optim/optimizer.hpp"

extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own call (cblas.h has no portable one)

using namespace tapenet;
namespace td = tapenet::data;
using Specials = td::Seq2SeqSpecials;
using namespace nmt;

namespace {

const char* kUsage = R"(usage: translate train|eval|translate [options]
data:
  --data PATH            tab-separated pairs (eng-fra.txt: English<TAB>French); default: synthetic numbers
  --direction D          fra-eng (default) or eng-fra: source-target on eng-fra.txt
  --train F --valid F --test F   fixed splits instead of --data: tab-separated files
  --train-source F --train-target F (likewise valid, test)   or aligned files per split
  --source-column N      the source column of tab-separated lines (0 or 1; default from
                         --direction: fra-eng 1, eng-fra 0)
  --tutorial-filter      the PyTorch tutorial's set: < 10 tokens per side, English prefixes, 90/10 split
  --max-len N            keep pairs with at most N tokens per side (0: no limit; tutorial: 9)
  --min-count N          words seen fewer times in training become <unk> (default 1)
  --synthetic-size N     pairs of the synthetic task (default 6000)
  --seed N               split, initialisation and batches (default 1)
model:
  --cell gru|lstm  --embedding N  --hidden N  --layers N  --bidirectional
  --attention additive|dot|general|fixed|none  (fixed: Cho's context, none: Sutskever)
  --dropout P
training:
  --epochs N  --batch N  --lr X  --lr-decay X (per epoch after --decay-after N)  --clip X
  --teacher-forcing P    probability of feeding the gold token (default 1)
  --threads N            sub-batches trained in parallel (default 1)
  --blas-threads N       OpenBLAS threads (default 1: the small GEMMs here gain nothing from more,
                         and busy-waiting BLAS threads are very slow on a loaded machine)
  --max-minutes X        stop training after X minutes (checkpoint saved), then evaluate
  --checkpoint FILE      (default translate.npz)  --resume
search and output:
  --beam K (default 5)  --length-alpha A (default 0.6)  --max-output N (default 30)
  --eval-limit N         evaluate BLEU on the first N test pairs only (0: all)
  --show-attention       translate: print the attention matrix of each sentence; with
                         --plot FILE.svg also draw it (FILE.svg, FILE-2.svg, ... per sentence)
  --plot FILE.svg        train: train/valid perplexity and greedy BLEU by epoch
  --metrics-out FILE     JSON with test_bleu, test_ppl, sentences_per_s, wall_s, ...)";

std::string checkpoint_path(const examples::Args& args) { return args.str("checkpoint", "translate.npz"); }

// ---- train --------------------------------------------------------------------------------------

// One training run: the loop's hooks over the model, its optimizer and the data.
class TrainRun {
 public:
  TrainRun(const examples::Args& args, const Settings& s, Dataset& d, std::string ckpt)
      : args_(args), s_(s), d_(d), ckpt_(std::move(ckpt)), init_rng_(s.seed),
        model_(model_options(s, d.vocabs), init_rng_), opt_(model_.parameters(), AdamOptions().with_lr(float(s.lr))),
        threads_(int(args.integer("threads", 1))),
        plot_(args.str("plot"), {"epoch", "perplexity", "translate: " + (s.data == "-" ? s.train : s.data), "BLEU"}) {
    opt_.set_clip_norm(float(s.clip));
    std::cerr << "model: " << model_.parameter_count() << " parameters\n";
  }

  void resume(const examples::LoopState& loop, const std::string& curves) {
    state_ = loop;
    plot_.restore(curves, double(loop.epoch));
    opt_.load_state_dict(load_checkpoint(ckpt_, model_.parameters()));
    std::cerr << "resumed from " << ckpt_ << " at epoch " << loop.epoch + 1 << ", batch " << loop.batch << "\n";
  }

  examples::LoopOutcome train(const examples::ConfigValues& config) {
    const std::size_t per_epoch = d_.split.train.size();
    examples::LoopOptions lo;
    lo.epochs = s_.epochs;
    lo.save_every_seconds = 60;
    lo.max_seconds = args_.num("max-minutes", 0) * 60;
    lo.unit = "sent";
    lo.total_items = double((s_.epochs - std::min(s_.epochs, state_.epoch)) * per_epoch -
                            std::min(per_epoch, state_.batch * s_.batch));
    examples::LoopHooks hooks;
    hooks.start_epoch = [&](std::size_t epoch) { return start_epoch(epoch); };
    hooks.train_batch = [&](const examples::LoopState& st) { return train_batch(st); };
    hooks.status = [&](const examples::LoopState& st) {
      std::ostringstream status;
      status << "epoch " << st.epoch + (st.batch ? 1 : 0) << "/" << s_.epochs << " loss " << std::fixed
             << std::setprecision(3) << smoothed_;
      return status.str();
    };
    hooks.evaluate = [&](const examples::LoopState& st) { return report_epoch(st.epoch); };
    hooks.save = [&](const examples::LoopState& st) {
      save_run(ckpt_, model_.parameters(), opt_.state_dict(), examples::RunRecord{config, st, {{"curves", plot_.record()}}});
    };
    epoch_clock_ = std::chrono::steady_clock::now();
    examples::LoopOutcome outcome = examples::run_training_loop(lo, hooks, state_);
    if (outcome.out_of_time)
      std::cerr << "\nstopping: --max-minutes " << args_.num("max-minutes", 0) << " reached (checkpoint saved)\n";
    return outcome;
  }

  void report(examples::Metrics& metrics, double wall_seconds);

 private:
  std::size_t start_epoch(std::size_t epoch) {
    opt_.set_lr(float(s_.lr * std::pow(s_.lr_decay, double(epoch >= s_.decay_after ? epoch - s_.decay_after : 0))));
    batches_ = td::length_buckets(d_.encoded, d_.split.train, s_.batch, s_.seed * 1000 + epoch);
    epoch_nll_ = 0;
    epoch_tokens_ = 0;
    return batches_.size();
  }

  // Sub-batches, one per thread; the loss is the mean over all target tokens of the batch.
  examples::StepResult train_batch(const examples::LoopState& st) {
    const auto& idx = batches_[st.batch];
    const std::size_t parts = std::max<std::size_t>(1, std::min<std::size_t>(std::size_t(threads_), idx.size()));
    std::vector<std::vector<std::size_t>> sub(parts);
    for (std::size_t i = 0; i < idx.size(); ++i) sub[i * parts / idx.size()].push_back(idx[i]);
    std::size_t tokens = 0;
    for (std::size_t i : idx) tokens += d_.encoded[i].target.size();
    const std::uint64_t step_seed = s_.seed * 1000003 + st.epoch * 100003 + st.batch;
    opt_.zero_grad();
    auto loss_of = [&](Tape<float>& tape, std::size_t p) {
      std::mt19937_64 rng(step_seed * 31 + p);
      Seq2SeqLoss<float> l =
          model_.loss(tape, source_batch(d_, sub[p]), target_ids(d_, sub[p]), s_.teacher_forcing, &rng);
      return l.loss / float(tokens);
    };
    float loss;
    if (parts == 1) {
      Tape<float> tape;
      Var<float> l = loss_of(tape, 0);
      tape.backward(l);
      loss = l.item();
    } else {
      ParallelOptions po;
      po.chunk_size = 1;
      po.threads = threads_;
      loss = parallel_batch<float>(parts, loss_of, po);
    }
    opt_.step();
    epoch_nll_ += double(loss) * tokens;
    epoch_tokens_ += tokens;
    smoothed_ = smoothed_ == 0 ? loss : 0.98 * smoothed_ + 0.02 * loss;
    return {loss, double(idx.size())};
  }

  // The epoch's line: train and valid perplexity, and a quick greedy BLEU on up to 500
  // held-out pairs to watch progress. Selects nothing: the last epoch's model is kept.
  examples::Evaluation report_epoch(std::size_t epochs_done) {
    std::ostringstream line;
    const double train_ppl = epoch_tokens_ ? std::exp(epoch_nll_ / epoch_tokens_) : NAN;
    line << "epoch " << epochs_done << ": train ppl " << std::setprecision(4) << train_ppl;
    plot_.add("train ppl", double(epochs_done), train_ppl);
    if (!d_.split.valid.empty()) {
      const double valid_ppl = evaluate_ppl(model_, d_, d_.split.valid);
      line << ", valid ppl " << valid_ppl;
      plot_.add("valid ppl", double(epochs_done), valid_ppl);
    }
    const auto& held = d_.split.valid.empty() ? d_.split.test : d_.split.valid;
    std::vector<std::size_t> peek(held.begin(), held.begin() + std::ptrdiff_t(std::min<std::size_t>(500, held.size())));
    const double bleu = evaluate_bleu(model_, d_, peek, search_options(args_), true).score.bleu;
    plot_.add(std::string("greedy BLEU (") + (d_.split.valid.empty() ? "test" : "valid") + ")", double(epochs_done),
              bleu, 1);
    plot_.draw();
    line << ", greedy BLEU " << std::setprecision(4) << bleu << " ("
         << (d_.split.valid.empty() ? "test" : "valid") << ", " << peek.size() << " pairs), " << std::setprecision(5)
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_clock_).count() << " s";
    std::cerr << line.str() << "\n";
    return {};
  }

  const examples::Args& args_;
  const Settings& s_;
  Dataset& d_;
  std::string ckpt_;
  std::mt19937_64 init_rng_;
  Seq2Seq<float> model_;
  Adam<float> opt_;
  int threads_;
  examples::LoopState state_;
  std::vector<std::vector<std::size_t>> batches_;
  double epoch_nll_ = 0, smoothed_ = 0;
  std::size_t epoch_tokens_ = 0;
  std::chrono::steady_clock::time_point epoch_clock_;
  examples::RunPlot plot_;  // --plot: perplexities and greedy BLEU by epoch
};

// The final evaluation on the test split.
void TrainRun::report(examples::Metrics& metrics, double wall_seconds) {
  SearchOptions so = search_options(args_);
  std::vector<std::size_t> test = d_.split.test;
  const std::size_t limit = std::size_t(args_.integer("eval-limit", 0));
  if (limit && test.size() > limit) test.resize(limit);
  const double ppl = evaluate_ppl(model_, d_, d_.split.test);
  BleuResult beam = evaluate_bleu(model_, d_, test, so, false);
  BleuResult greedy = evaluate_bleu(model_, d_, test, so, true);
  std::cout << "test perplexity " << ppl << "\n"
            << "test " << td::to_string(beam.score) << "  (beam " << so.beam << ", alpha " << so.length_alpha << ")\n"
            << "test greedy " << td::to_string(greedy.score) << "\n";
  for (std::size_t i = 0; i < std::min<std::size_t>(5, beam.order.size()); ++i) {
    const auto& p = d_.pairs[beam.order[i * beam.order.size() / 5]];
    std::cout << "  > " << td::join_tokens(p.source) << "\n  = " << td::join_tokens(p.target) << "\n  < "
              << td::join_tokens(beam.hypotheses[i * beam.order.size() / 5]) << "\n";
  }
  metrics.set("test_bleu", beam.score.bleu);
  metrics.set("test_bleu_greedy", greedy.score.bleu);
  metrics.set("test_ppl", ppl);
  metrics.set("sentences_per_s", state_.train_seconds > 0 ? state_.items / state_.train_seconds : 0);
  metrics.set("wall_s", wall_seconds);
  metrics.set("train_seconds_total", state_.train_seconds);
  metrics.set("epochs_done", double(state_.epoch));
  metrics.set("train_pairs", double(d_.split.train.size()));
  metrics.set("test_pairs", double(test.size()));
  metrics.set("parameters", double(model_.parameter_count()));
  metrics.set("beam", double(so.beam));
}

int train(const examples::Args& args) {
  const auto clock_start = std::chrono::steady_clock::now();
  const std::string ckpt = checkpoint_path(args);
  const bool resume = args.has("resume");
  examples::RunRecord saved;
  if (resume) saved = examples::read_run_record(ckpt, {"curves"});
  examples::RunConfig config(args, resume ? &saved.config : nullptr);
  const Settings s = read_settings(config, true);
  Dataset d = load_data(s, !resume);
  if (resume) {
    d.vocabs.source = td::Vocab::load(ckpt + ".src.vocab");
    d.vocabs.target = td::Vocab::load(ckpt + ".tgt.vocab");
  } else {
    d.vocabs.source.save(ckpt + ".src.vocab");
    d.vocabs.target.save(ckpt + ".tgt.vocab");
  }
  encode(d);
  std::cerr << "pairs: " << d.split.train.size() << " train, " << d.split.valid.size() << " valid, "
            << d.split.test.size() << " test; vocab " << d.vocabs.source.size() << " source, "
            << d.vocabs.target.size() << " target\n";
  TrainRun run(args, s, d, ckpt);
  if (resume) run.resume(saved.loop, saved.texts.at("curves"));
  run.train(config.values());
  examples::Metrics metrics;
  run.report(metrics, std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count());
  metrics.write(args.str("metrics-out"));
  return 0;
}

// ---- eval and translate ---------------------------------------------------------------------------

struct Loaded {
  Settings settings;
  td::PairVocabs vocabs;
  std::unique_ptr<Seq2Seq<float>> model;
};

// The model of a checkpoint; options given on the command line must match its own.
Loaded load_model(const examples::Args& args) {
  const std::string ckpt = checkpoint_path(args);
  const examples::RunRecord saved = examples::read_run_record(ckpt);
  examples::RunConfig config(args, &saved.config);
  Loaded l;
  l.settings = read_settings(config, false);
  l.vocabs.source = td::Vocab::load(ckpt + ".src.vocab");
  l.vocabs.target = td::Vocab::load(ckpt + ".tgt.vocab");
  std::mt19937_64 rng(0);
  l.model = std::make_unique<Seq2Seq<float>>(model_options(l.settings, l.vocabs), rng);
  load_checkpoint(ckpt, l.model->parameters());
  l.model->eval();
  return l;
}

int eval(const examples::Args& args) {
  Loaded l = load_model(args);
  examples::Progress clock(1, "eval");
  Dataset d = load_data(l.settings, false);
  d.vocabs = l.vocabs;
  encode(d);
  SearchOptions so = search_options(args);
  std::vector<std::size_t> test = d.split.test;
  const std::size_t limit = std::size_t(args.integer("eval-limit", 0));
  if (limit && test.size() > limit) test.resize(limit);
  const double ppl = evaluate_ppl(*l.model, d, d.split.test);
  BleuResult beam = evaluate_bleu(*l.model, d, test, so, false);
  std::cout << "test pairs " << test.size() << "\ntest perplexity " << ppl << "\ntest " << td::to_string(beam.score)
            << "  (beam " << so.beam << ", alpha " << so.length_alpha << ")\n";
  examples::Metrics metrics;
  metrics.set("test_bleu", beam.score.bleu);
  metrics.set("test_ppl", ppl);
  metrics.set("test_pairs", double(test.size()));
  metrics.set("sentences_per_s", test.size() / std::max(1e-9, clock.seconds_since_start()));
  metrics.set("wall_s", clock.seconds_since_start());
  metrics.write(args.str("metrics-out"));
  return 0;
}

std::size_t lead_count(const std::string& s) {
  std::size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// `word` right-aligned in `width` columns, cut to width - 1 code points (never inside a UTF-8 sequence).
std::string cell(const std::string& word, std::size_t width) {
  std::string out;
  std::size_t points = 0;
  for (std::size_t i = 0; i < word.size(); ++i) {
    const bool lead = (static_cast<unsigned char>(word[i]) & 0xC0) != 0x80;
    if (lead && ++points == width) break;
    out += word[i];
  }
  if (lead_count(out) < width) out.insert(0, width - lead_count(out), ' ');
  return out;
}

// --show-attention --plot FILE.svg: the attention of each translated sentence as a heat map,
// output words down, source words across; FILE.svg for the first, FILE-2.svg, ... after.
void write_attention_plot(const std::string& path, std::size_t sentence, const std::vector<std::vector<double>>& m,
                          const Hypothesis& h, const td::Vocab& target, const td::Tokens& source_words) {
  std::string file = path;
  if (sentence > 1) {
    const auto dot = path.rfind(".svg");
    file = (dot == std::string::npos ? path : path.substr(0, dot)) + "-" + std::to_string(sentence) + ".svg";
  }
  std::vector<std::string> rows;
  for (std::size_t t = 0; t < m.size(); ++t)
    rows.push_back(h.tokens[t] == Specials::kEos ? Specials::kEosToken : target.word(int(h.tokens[t])));
  examples::write_heat_map(file, m, rows, source_words, "attention: " + td::join_tokens(source_words));
}

int translate(const examples::Args& args) {
  Loaded l = load_model(args);
  SearchOptions so = search_options(args);
  const bool synthetic = l.settings.data == "-" && !has_fixed_splits(l.settings);
  std::string line;
  for (std::size_t sentence = 1; std::getline(std::cin, line);) {
    td::Tokens words = synthetic ? td::split_on_spaces(line) : td::normalize_tokens(line);
    if (words.empty()) continue;
    std::vector<std::int64_t> src = to_ids(td::encode_sentence(l.vocabs.source, words));
    Hypothesis h = l.model->beam(make_source_batch({src}, Specials::kPad), so)[0];
    td::Tokens out = td::decode_sentence(l.vocabs.target, std::vector<int>(h.tokens.begin(), h.tokens.end()));
    std::cout << td::join_tokens(out) << "\n";
    if (args.has("show-attention")) {
      auto m = l.model->attention_matrix(src, h.tokens, Specials::kSos);
      if (m.empty()) {
        std::cout << "(no attention in this model)\n";
        continue;
      }
      td::Tokens cols = words;
      cols.push_back(Specials::kEosToken);
      if (args.has("plot")) write_attention_plot(args.str("plot"), sentence++, m, h, l.vocabs.target, cols);
      std::cout << std::string(12, ' ');
      for (const auto& c : cols) std::cout << cell(c, 8);
      std::cout << "\n";
      for (std::size_t t = 0; t < m.size(); ++t) {
        const std::string row = h.tokens[t] == Specials::kEos ? Specials::kEosToken : l.vocabs.target.word(int(h.tokens[t]));
        std::cout << cell(row, 12);
        for (double w : m[t]) std::cout << std::setw(8) << std::fixed << std::setprecision(2) << w;
        std::cout << "\n";
      }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2 || std::string(argv[1]).rfind("--", 0) == 0) {
    if (argc >= 2 && std::string(argv[1]) == "--help") {
      std::cout << kUsage << "\n";
      return 0;
    }
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = argv[1];
  examples::Args args(argc - 1, argv + 1,
                      {"data", "train", "valid", "test", "train-source", "train-target", "valid-source",
                       "valid-target", "test-source", "test-target", "source-column", "plot", "direction", "tutorial-filter", "max-len", "min-count", "synthetic-size", "seed", "cell",
                       "embedding", "hidden", "layers", "bidirectional", "attention", "dropout", "epochs", "batch",
                       "lr", "lr-decay", "blas-threads", "decay-after", "clip", "teacher-forcing", "threads", "max-minutes",
                       "checkpoint", "resume", "beam", "length-alpha", "max-output", "eval-limit", "show-attention",
                       "metrics-out"},
                      {"tutorial-filter", "bidirectional", "resume", "show-attention"}, kUsage);
  openblas_set_num_threads(int(args.integer("blas-threads", 1)));
  if (command == "train") return train(args);
  if (command == "eval") return eval(args);
  if (command == "translate") return translate(args);
  std::cerr << "unknown command '" << command << "'\n" << kUsage << "\n";
  return 2;
} catch (const std::exception& e) {
  std::cerr << "translate: " << e.what() << "\n";
  return 1;
}
