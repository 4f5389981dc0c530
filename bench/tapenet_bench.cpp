// tapenet_bench: times exactly the configurations of the PyTorch peer benchmark
// (../shared/bench/peer/peer_rnn.py and peer_tree.py) and writes JSON.
//
//   small  RNN(tanh) / LSTM / GRU, batch 32, seq 35, input 128, hidden 256, 1 layer
//   medium RNN(tanh) / LSTM / GRU, batch 64, seq 50, input 256, hidden 512, 1 layer
//            loss = sum of all outputs (torch: out.sum()); SGD lr 1e-4
//   lm     Zaremba 'small' PTB: Embedding(10000, 200) -> 2-layer LSTM(200) -> Linear(200, 10000)
//            -> mean cross-entropy; batch 20, bptt 35; train = clip_grad_norm(5) + SGD lr 1
//   tree   RNTN d = 30, vocab 1000, 5 classes, random binary trees of 20 leaves (fixed seed),
//            cross-entropy summed over all 39 nodes (the peer's "stacked" variant);
//            one tree per fwd / fwd+bwd / train step, and parallel_batch minibatches
//   gemm   sgemm 1024³ (the machine's measured GEMM peak, the denominator of "fraction of peak")
//   custom:lstm    the medium LSTM written by hand from generic ops (matmul, slice, sigmoid, tanh,
//                    +, *, sum) in a plain loop, as a user would: how far the generic ops are from
//                    the fused cell of medium:lstm (twin: bench/peer_extra.py)
//   seq2seq:gru    examples/translate's model (layers/seq2seq.hpp): BiGRU encoder 2 × 256, additive
//                    attention, GRU decoder 512, embeddings 256, vocabularies 7653 / 5872, batch 64,
//                    14 source and 15 target tokens; train = mean CE + clip 5 + Adam (peer_extra.py)
//   tree:treelstm  binary constituency Tree-LSTM d = 150 on the RNTN's trees (bench/peer_treelstm.py)
//
// Modes: fwd (no gradients), fwdgraph (recorded, no backward), fwdbwd (zero_grad + forward +
// backward), train (fwdbwd + SGD step). Each timed block: --warmup untimed iterations, then
// --iters timed ones; the median is reported. "threads" is the OpenBLAS thread count (the
// RNN configs) or the TBB thread count of parallel_batch (tree_batch); everything else is
// single-threaded. GRU uses reset_after = true, the semantics (and FLOPs) of torch.nn.GRU.
//
// Usage: tapenet_bench [--only small:lstm,medium:gru,lm:lstm,tree:rntn,gemm:peak,custom:lstm,
//                             seq2seq:gru,tree:treelstm]
//                      [--threads 1,2] [--iters 30] [--warmup 5] [--trees 300] [--out FILE]
//        tapenet_bench --packed-isa      prints the packed kernel's ISA (avx512, avx2, blas)
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/packed_gemm.hpp"
#include "autograd/parallel_batch.hpp"
#include "layers/cell_factory.hpp"
#include "layers/cells.hpp"
#include "layers/seq2seq.hpp"
#include "layers/sequence.hpp"
#include "layers/tree_nets.hpp"
#include "tapenet.hpp"

// ---- allocation counter: every operator new in the process --------------------------------
namespace {
std::atomic<long long> g_allocs{0};
}
extern "C" void* memalign(std::size_t alignment, std::size_t n) noexcept;  // glibc
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  std::size_t al = static_cast<std::size_t>(a);
  if (void* p = memalign(al, n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
// Aligned storage (tensors: aligned_alloc in autograd/storage.cpp; xsimd's allocator:
// posix_memalign) is counted too; both are served by glibc's memalign, which is not counted.
extern "C" int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  void* p = memalign(alignment, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return memalign(alignment, n);
}
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace tapenet;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::vector<std::string> only;
  std::vector<int> threads{1, 2};
  int iters = 30, warmup = 5, trees = 300;
  std::string out = "tapenet_bench.json";
};

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

struct Stats {
  double median = 0, p25 = 0, p75 = 0, min = 0, max = 0;
  int n = 0;
};

Stats stats(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Stats s;
  s.n = static_cast<int>(ms.size());
  auto q = [&](double f) {  // linear interpolation between order statistics
    double pos = f * (ms.size() - 1);
    std::size_t i = static_cast<std::size_t>(pos);
    double fr = pos - i;
    return i + 1 < ms.size() ? ms[i] * (1 - fr) + ms[i + 1] * fr : ms[i];
  };
  s.median = q(0.5);
  s.p25 = q(0.25);
  s.p75 = q(0.75);
  s.min = ms.front();
  s.max = ms.back();
  return s;
}

// One JSON record: string fields and number fields.
struct Record {
  std::map<std::string, std::string> str;
  std::map<std::string, double> num;
};
std::vector<Record> g_records;

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

void write_json(const Args& a, const std::string& path) {
  std::ofstream f(path);
  f << std::setprecision(10);  // parameter counts and timings without rounding
  f << "{\n \"benchmark\": \"tapenet_bench\",\n \"iters\": " << a.iters << ", \"warmup\": " << a.warmup
    << ",\n \"openblas_core\": \"" << openblas_get_corename() << "\", \"packed_gemm\": \""
    << detail::packed_isa_name(detail::best_packed_isa()) << "\",\n \"peak_rss_mb\": " << peak_rss_mb()
    << ",\n \"runs\": [\n";
  for (std::size_t i = 0; i < g_records.size(); ++i) {
    const Record& r = g_records[i];
    f << "  {";
    bool first = true;
    for (const auto& [k, v] : r.str) {
      f << (first ? "" : ", ") << "\"" << k << "\": \"" << json_escape(v) << "\"";
      first = false;
    }
    for (const auto& [k, v] : r.num) {
      f << (first ? "" : ", ") << "\"" << k << "\": " << v;
      first = false;
    }
    f << "}" << (i + 1 < g_records.size() ? "," : "") << "\n";
  }
  f << " ]\n}\n";
}

// Times fn: warmup untimed calls, then iters timed calls. Also counts operator-new calls of
// the last timed iteration (the steady state).
struct Timed {
  Stats s;
  long long allocs_per_iter = 0;
  double minflt_per_iter = 0;  // minor page faults per timed iteration
  double total_s = 0;
  double cpu_per_wall = 0;     // CPU seconds per wall second over the timed block (threads used)
};

double cpu_seconds() {  // user + system time of the whole process (all threads)
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

Timed time_it(int warmup, int iters, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  ms.reserve(iters);
  Timed t;
  const long f0 = minor_faults();
  const double c0 = cpu_seconds();
  auto t_all = Clock::now();
  for (int i = 0; i < iters; ++i) {
    long long a0 = g_allocs.load();
    auto t0 = Clock::now();
    fn();
    auto t1 = Clock::now();
    t.allocs_per_iter = g_allocs.load() - a0;
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  t.total_s = std::chrono::duration<double>(Clock::now() - t_all).count();
  t.minflt_per_iter = double(minor_faults() - f0) / std::max(iters, 1);
  t.cpu_per_wall = t.total_s > 0 ? (cpu_seconds() - c0) / t.total_s : 0;
  t.s = stats(ms);
  return t;
}

Record base_record(const std::string& config, const std::string& cell, const std::string& mode,
                   const std::string& dtype, int threads, const Timed& t) {
  Record r;
  r.str = {{"config", config}, {"cell", cell}, {"mode", mode}, {"dtype", dtype}};
  r.num = {{"threads", double(threads)},     {"median_ms", t.s.median}, {"p25_ms", t.s.p25},
           {"p75_ms", t.s.p75},              {"min_ms", t.s.min},       {"max_ms", t.s.max},
           {"n", double(t.s.n)},             {"allocs_per_iter", double(t.allocs_per_iter)},
           {"minflt_per_iter", t.minflt_per_iter}, {"cpu_per_wall", t.cpu_per_wall},
           {"peak_rss_mb", peak_rss_mb()}};
  return r;
}

void print_record(const Record& r) {
  std::fprintf(stderr, "[t%d] %-6s %-5s %-13s %-7s %10.3f ms  (p25 %.3f p75 %.3f)  allocs/iter %lld  faults/iter %.0f  cpu/wall %.2f  rss %.0f MB\n",
               int(r.num.at("threads")), r.str.at("config").c_str(), r.str.at("cell").c_str(),
               r.str.at("mode").c_str(), r.str.at("dtype").c_str(), r.num.at("median_ms"), r.num.at("p25_ms"),
               r.num.at("p75_ms"), (long long)r.num.at("allocs_per_iter"), r.num.at("minflt_per_iter"),
               r.num.at("cpu_per_wall"), r.num.at("peak_rss_mb"));
}

void set_blas_threads(int n) { openblas_set_num_threads(n); }

// ---- RNN configs --------------------------------------------------------------------------

struct RnnConfig {
  std::size_t batch, seq, inp, hid, layers, vocab;
};
const std::map<std::string, RnnConfig> kConfigs = {
    {"small", {32, 35, 128, 256, 1, 0}},
    {"medium", {64, 50, 256, 512, 1, 0}},
    {"lm", {20, 35, 200, 200, 2, 10000}},
};
int gates_of(const std::string& cell) { return cell == "lstm" ? 4 : cell == "gru" ? 3 : 1; }

// Nominal matmul FLOPs of one forward, as the peer counts them (backward = 2x forward).
double fwd_matmul_flops(const std::string& cfg, const std::string& cell) {
  const RnnConfig& c = kConfigs.at(cfg);
  double fl = 0, inp = double(c.inp);
  const double T = double(c.seq), B = double(c.batch), H = double(c.hid), g = gates_of(cell);
  for (std::size_t l = 0; l < c.layers; ++l) {
    fl += 2 * T * B * (inp * g * H + H * g * H);
    inp = H;
  }
  if (c.vocab) fl += 2 * T * B * H * double(c.vocab);
  return fl;
}

// Runs the four modes of one model. forward(tape) records the loss.
void bench_modes(const Args& a, const std::string& cfg, const std::string& cell, int threads,
                 const ParameterList<float>& params, const std::function<Var<float>(Tape<float>&)>& forward,
                 const std::function<void()>& update, double ffl, std::size_t tokens,
                 const std::map<std::string, double>& extra = {}) {
  Tape<float> tape;
  float last_loss = 0;
  auto fwd = [&] {
    tape.clear();
    NoGradGuard ng;
    last_loss = forward(tape).item();
  };
  auto fwdgraph = [&] {
    tape.clear();
    last_loss = forward(tape).item();
  };
  auto fwdbwd = [&] {
    tape.clear();
    for (auto* p : params) p->zero_grad();
    Var<float> loss = forward(tape);
    tape.backward(loss);
    last_loss = loss.item();
  };
  auto train = [&] {
    fwdbwd();
    update();
  };
  std::vector<std::pair<std::string, std::function<void()>>> modes = {
      {"fwd", fwd}, {"fwdgraph", fwdgraph}, {"fwdbwd", fwdbwd}, {"train", train}};
  for (auto& [mode, fn] : modes) {
    Timed t = time_it(a.warmup, a.iters, fn);
    tape.clear();
    Record r = base_record(cfg, cell, mode, "float32", threads, t);
    const double flops = mode == "fwd" || mode == "fwdgraph" ? ffl : 3 * ffl;
    r.num["nominal_matmul_gflop"] = flops / 1e9;
    r.num["gflops_per_s"] = flops / 1e9 / (t.s.median / 1e3);
    r.num["tokens_per_s"] = double(tokens) / (t.s.median / 1e3);
    r.num["loss"] = last_loss;
    for (const auto& [k, v] : extra) r.num[k] = v;
    print_record(r);
    g_records.push_back(r);
  }
}

void bench_rnn(const Args& a, const std::string& cfg, const std::string& cell, int threads) {
  const RnnConfig& c = kConfigs.at(cfg);
  std::mt19937_64 rng(1234);
  // The GRU in torch.nn.GRU's form (reset after), the form the peers run.
  auto model = make_cell<float>(parse_cell(cell), c.inp, c.hid, rng, CellOptions().with_gru(GRUOptions().with_reset_after(true)));
  Tensor<float> x = init::normal<float>({c.seq * c.batch, c.inp}, 1.0, rng);  // time-major [T·B, D]
  ParameterList<float> params = model->parameters();
  SGD<float> sgd(params, SGDOptions().with_lr(1e-4));
  auto forward = [&](Tape<float>& tape) {
    SequenceOutput<float> run = run_sequence(tape, *model, tape.constant(x), c.batch);
    return sum(concat_outputs(run.outputs));  // torch: out.sum()
  };
  bench_modes(a, cfg, cell, threads, params, forward, [&] { sgd.step(); }, fwd_matmul_flops(cfg, cell),
              c.batch * c.seq);
}

// The Zaremba 'small' LM (no dropout, as the peer).
struct LM : Module<float> {
  Embedding<float> emb;
  StackedRNN<float> rnn;
  Linear<float> dec;
  LM(const RnnConfig& c, std::mt19937_64& rng)
      : emb(c.vocab, c.inp, rng),
        rnn(c.inp, c.hid,
            cell_factory<float>(CellKind::LSTM, rng),
            StackedOptions<float>().with_layers(c.layers)),
        dec(c.hid, c.vocab, rng) {
    add_module("emb", emb);
    add_module("rnn", rnn);
    add_module("dec", dec);
    for (auto* p : parameters()) p->value = init::uniform<float>(to_shape(p->value.shape()), 0.1, rng);
  }
};

void bench_lm(const Args& a, int threads) {
  const RnnConfig& c = kConfigs.at("lm");
  std::mt19937_64 rng(1234);
  LM lm(c, rng);
  std::uniform_int_distribution<std::int64_t> word(0, std::int64_t(c.vocab) - 1);
  std::vector<std::int64_t> x(c.seq * c.batch), y(c.seq * c.batch);  // time-major
  for (auto& v : x) v = word(rng);
  for (auto& v : y) v = word(rng);
  ParameterList<float> params = lm.parameters();
  SGD<float> sgd(params, SGDOptions().with_lr(1.0));
  auto forward = [&](Tape<float>& tape) {
    Var<float> e = lm.emb.forward(tape, x);                               // [T·B, 200]
    StackedOutput<float> out = lm.rnn.forward(tape, e, c.batch);          // 2 layers
    Var<float> logits = lm.dec.forward(tape, concat_outputs(out.outputs));  // [T·B, 10000]
    return cross_entropy(logits, y);                                      // mean
  };
  auto update = [&] {
    clip_grad_norm(params, 5.0);
    sgd.step();
  };
  bench_modes(a, "lm", "lstm", threads, params, forward, update, fwd_matmul_flops("lm", "lstm"), c.batch * c.seq);
  // train without clipping, as the peer's train_noclip
  Tape<float> tape;
  Timed t = time_it(a.warmup, a.iters, [&] {
    tape.clear();
    for (auto* p : params) p->zero_grad();
    Var<float> loss = forward(tape);
    tape.backward(loss);
    sgd.step();
  });
  Record r = base_record("lm", "lstm", "train_noclip", "float32", threads, t);
  r.num["gflops_per_s"] = 3 * fwd_matmul_flops("lm", "lstm") / 1e9 / (t.s.median / 1e3);
  print_record(r);
  g_records.push_back(r);
}

// ---- custom:lstm: the LSTM a user writes from generic ops -----------------------------------

// The medium LSTM (B 64, T 50, D 256, H 512) as ~13 generic ops per step instead of the fused
// lstm_sequence: the gap to medium:lstm is what a user pays for not using the library's cell.
// Init U(±1/√H) as torch.nn.LSTM (and the twin); b = b_ih + b_hh as one [1, 4H] row.
void bench_custom_lstm(const Args& a, int threads) {
  const RnnConfig& c = kConfigs.at("medium");
  const std::size_t B = c.batch, T = c.seq, H = c.hid;
  std::mt19937_64 rng(1234);
  const double k = 1 / std::sqrt(double(H));
  Parameter<float> W_ih("W_ih", init::uniform<float>({4 * H, c.inp}, k, rng));
  Parameter<float> W_hh("W_hh", init::uniform<float>({4 * H, H}, k, rng));
  Parameter<float> b("b", init::uniform<float>({1, 4 * H}, k, rng));
  ParameterList<float> params{&W_ih, &W_hh, &b};
  SGD<float> sgd(params, SGDOptions().with_lr(1e-4));
  Tensor<float> x = init::normal<float>({T * B, c.inp}, 1.0, rng);  // time-major [T·B, D]
  const Tensor<float> zero = zeros<float>({B, H});
  auto forward = [&](Tape<float>& tape) {
    Var<float> xs = tape.constant(x), Wi = tape.param(W_ih), Wh = tape.param(W_hh), bias = tape.param(b);
    Var<float> h = tape.constant(zero), cell = tape.constant(zero), loss;
    for (std::size_t t = 0; t < T; ++t) {
      Var<float> x_t = slice(xs, 0, t * B, (t + 1) * B);
      // a = x_t W_ihᵀ + h W_hhᵀ + b   [B, 4H], gate blocks i, f, g, o
      Var<float> pre = matmul(x_t, Wi, false, true) + matmul(h, Wh, false, true) + bias;
      Var<float> i = sigmoid(slice(pre, 1, 0, H)), f = sigmoid(slice(pre, 1, H, 2 * H));
      Var<float> g = tanh(slice(pre, 1, 2 * H, 3 * H)), o = sigmoid(slice(pre, 1, 3 * H, 4 * H));
      cell = f * cell + i * g;  // c_t = f⊙c_{t-1} + i⊙g
      h = o * tanh(cell);       // h_t = o⊙tanh(c_t)
      loss = t == 0 ? sum(h) : loss + sum(h);  // torch: out.sum()
    }
    return loss;
  };
  bench_modes(a, "custom", "lstm", threads, params, forward, [&] { sgd.step(); }, fwd_matmul_flops("medium", "lstm"),
              B * T);
}

// ---- seq2seq:gru: examples/translate's model --------------------------------------------------

// The translate example's architecture at the size of a real fra-eng run (the tutorial's
// vocabularies after filtering): layers/seq2seq.hpp's Seq2Seq with its defaults (GRU with the
// reset gate before the recurrent product, bridge, Bahdanau additive attention with A = 512).
struct Seq2SeqShape {
  std::size_t src_vocab = 7653, tgt_vocab = 5872, emb = 256, hid = 256, batch = 64, src_len = 14, tgt_len = 15;
};

// Nominal matmul FLOPs of one forward (backward = 2x): encoder GRUs, bridge, attention keys,
// and per decoder step the query projection, the score vector v, the weighted sum, the GRU
// cell and the readout.
double seq2seq_fwd_flops(const Seq2SeqShape& s) {
  const double B = double(s.batch), S = double(s.src_len), E = double(s.emb), He = double(s.hid);
  const double Hd = 2 * He, C = 2 * He, A = Hd, V = double(s.tgt_vocab);
  const double enc = 2 * (2 * S * B * (E * 3 * He + He * 3 * He));
  const double once = 2 * B * C * Hd + 2 * S * B * C * A;
  const double step = 2 * B * Hd * A + 2 * S * B * A + 2 * S * B * C + 2 * B * ((E + C) * 3 * Hd + Hd * 3 * Hd) +
                      2 * B * (Hd + C) * V;
  return enc + once + double(s.tgt_len) * step;
}

void bench_seq2seq(const Args& a, int threads) {
  const Seq2SeqShape s;
  Seq2SeqOptions o;  // as examples/translate/main.cpp's model_options, with dropout 0
  o.source_vocab = s.src_vocab;
  o.target_vocab = s.tgt_vocab;
  o.embedding = s.emb;
  o.hidden = s.hid;
  o.bidirectional = true;
  o.cell = CellKind::GRU;
  o.dropout = 0;
  std::mt19937_64 rng(1);
  Seq2Seq<float> model(o, rng);
  ParameterList<float> params = model.parameters();
  Adam<float> opt(params, AdamOptions().with_lr(1e-3));
  opt.set_clip_norm(5.0f);  // the global norm, clipped inside step() (examples/translate's --clip 5)
  // Random full-length sentences (no padding); ids from 4 on, past the specials of data/pairs.hpp.
  std::uniform_int_distribution<std::int64_t> src_word(4, std::int64_t(s.src_vocab) - 1),
      tgt_word(4, std::int64_t(s.tgt_vocab) - 1);
  SourceBatch src;
  src.batch = s.batch;
  src.lengths.assign(s.batch, s.src_len);
  for (std::size_t i = 0; i < s.src_len * s.batch; ++i) src.ids.push_back(src_word(rng));
  std::vector<std::int64_t> targets(s.tgt_len * s.batch);  // time-major
  for (auto& y : targets) y = tgt_word(rng);
  auto forward = [&](Tape<float>& tape) {
    Seq2SeqLoss<float> l = model.loss(tape, src, targets);  // teacher forcing, no dropout
    return l.loss / float(l.tokens);                             // mean cross-entropy
  };
  const double n_params = double(model.parameter_count());
  std::fprintf(stderr, "seq2seq: %.0f parameters\n", n_params);
  bench_modes(a, "seq2seq", "gru", threads, params, forward, [&] { opt.step(); }, seq2seq_fwd_flops(s),
              s.batch * s.tgt_len, {{"parameters", n_params}, {"sentences", double(s.batch)}});
}

// ---- tree nets: RNTN d 30 and Tree-LSTM d 150 ------------------------------------------------

constexpr std::size_t kTreeVocab = 1000, kTreeClasses = 5, kTreeLeaves = 20;

// The tree models: tree:rntn (the peer's RNTN, d 30) and tree:treelstm (Tai et al.'s binary
// Tree-LSTM at their d = 150; bench/peer_treelstm.py mirrors layers/tree_nets.cpp's equations).
struct TreeJob {
  std::string cell;
  TreeModel model;
  std::size_t dim;
};
const std::map<std::string, TreeJob> kTreeJobs = {
    {"rntn", {"rntn", TreeModel::RNTN, 30}},
    {"treelstm", {"treelstm", TreeModel::TreeLSTM, 150}},
};

struct BenchTree {
  data::Tree tree;
  std::vector<std::int64_t> words;
};

// The peer's make_trees: leaves 0..L-1 in sentence order, then internal nodes created by
// merging a random adjacent pair until one node is left (root last); random words and
// labels. Our generator is std::mt19937_64 (the peer's is Python's), same distribution.
std::vector<BenchTree> make_trees(int n, std::uint64_t seed = 1234) {
  std::mt19937_64 rng(seed);
  auto uni = [&](std::size_t k) { return std::uniform_int_distribution<std::size_t>(0, k - 1)(rng); };
  std::vector<BenchTree> trees(n);
  for (auto& bt : trees) {
    for (std::size_t i = 0; i < kTreeLeaves; ++i) bt.words.push_back(std::int64_t(uni(kTreeVocab)));
    bt.tree.nodes.resize(kTreeLeaves);
    std::vector<int> cur;
    for (std::size_t i = 0; i < kTreeLeaves; ++i) {
      cur.push_back(int(i));
      bt.tree.nodes[i].word = "w" + std::to_string(bt.words[i]);
    }
    while (cur.size() > 1) {
      std::size_t k = uni(cur.size() - 1);
      data::Node node;
      node.left = cur[k];
      node.right = cur[k + 1];
      bt.tree.nodes.push_back(node);
      cur[k] = int(bt.tree.nodes.size() - 1);
      cur.erase(cur.begin() + std::ptrdiff_t(k) + 1);
    }
    for (auto& node : bt.tree.nodes) node.label = int(uni(kTreeClasses));
    bt.tree.root = int(bt.tree.nodes.size() - 1);
  }
  return trees;
}

template <class T>
void bench_tree_dtype(const Args& a, const TreeJob& job, const std::vector<BenchTree>& trees, const std::string& dtype) {
  std::mt19937_64 rng(42);
  TreeNet<T> net(kTreeVocab, job.dim, kTreeClasses, job.model, rng);
  ParameterList<T> params = net.parameters();
  SGD<T> sgd(params, SGDOptions().with_lr(0.01));
  set_blas_threads(1);
  Tape<T> tape;
  std::size_t next = 0;
  T last_loss = 0;
  auto loss_of = [&](Tape<T>& tp, const BenchTree& bt) {
    return net.forward(tp, bt.tree, bt.words, data::LabelMode::Fine).loss;
  };
  auto fwd = [&] {
    tape.clear();
    NoGradGuard ng;
    last_loss = loss_of(tape, trees[next++ % trees.size()]).item();
  };
  auto fwdbwd = [&] {
    tape.clear();
    for (auto* p : params) p->zero_grad();
    Var<T> loss = loss_of(tape, trees[next++ % trees.size()]);
    tape.backward(loss);
  };
  auto train = [&] {
    fwdbwd();
    sgd.step();
  };
  std::vector<std::pair<std::string, std::function<void()>>> modes = {{"fwd", fwd}, {"fwdbwd", fwdbwd}, {"train", train}};
  for (auto& [mode, fn] : modes) {
    next = 0;
    const int n = std::max<int>(a.trees, a.iters);
    Timed t = time_it(std::min(10, n), n, fn);  // warm-up on the first trees, then every tree once
    Record r = base_record("tree", job.cell, mode, dtype, 1, t);
    r.num["trees_per_s"] = n / t.total_s;
    r.num["trees_per_s_from_median"] = 1e3 / t.s.median;
    print_record(r);
    std::fprintf(stderr, "        trees/s %.0f\n", r.num["trees_per_s"]);
    g_records.push_back(r);
  }
  {
    Tape<T> t0;
    NoGradGuard ng;
    last_loss = loss_of(t0, trees[0]).item();
  }
  std::fprintf(stderr, "        loss(tree 0) %s = %.4f\n", dtype.c_str(), double(last_loss));
  // Data-parallel minibatches: parallel_batch over 32 trees (chunks of 4), 1 and 2 TBB threads.
  for (int th : a.threads) {
    const std::size_t batch = 32;
    std::size_t offset = 0;
    Timed t = time_it(2, std::max(a.iters, 10), [&] {
      for (auto* p : params) p->zero_grad();
      parallel_batch<T>(
          batch, [&](Tape<T>& tp, std::size_t i) { return loss_of(tp, trees[(offset + i) % trees.size()]); },
          ParallelOptions{4, th});
      sgd.step();
      offset += batch;
    });
    Record r = base_record("tree", job.cell, "batch_train", dtype, th, t);
    r.num["trees_per_s"] = batch / (t.s.median / 1e3);
    r.num["batch"] = double(batch);
    print_record(r);
    std::fprintf(stderr, "        trees/s %.0f\n", r.num["trees_per_s"]);
    g_records.push_back(r);
  }
}

void bench_tree(const Args& a, const TreeJob& job) {
  const std::vector<BenchTree> trees = make_trees(a.trees);
  bench_tree_dtype<float>(a, job, trees, "float32");
  bench_tree_dtype<double>(a, job, trees, "float64");
}

// ---- GEMM peak ----------------------------------------------------------------------------

void bench_gemm(const Args& a) {
  const int n = 1024;
  std::mt19937_64 rng(0);
  Tensor<float> A = init::normal<float>({std::size_t(n), std::size_t(n)}, 1.0, rng), B = A, C = A;
  for (int th : a.threads) {
    set_blas_threads(th);
    Timed t = time_it(3, std::max(a.iters / 2, 10), [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f,
                  C.data(), n);
    });
    Record r = base_record("gemm", "sgemm1024", "peak", "float32", th, t);
    r.num["gflops_per_s"] = 2.0 * n * n * n / 1e9 / (t.s.median / 1e3);
    std::fprintf(stderr, "[t%d] sgemm 1024^3 %.1f GFLOP/s (cpu/wall %.2f)\n", th, r.num["gflops_per_s"], t.cpu_per_wall);
    g_records.push_back(r);
    // The same product through tapenet's packed kernel (packing included), C += A·B.
    Timed p = time_it(3, std::max(a.iters / 2, 10), [&] {
      detail::gemm_accumulate<float>(false, false, n, n, n, A.data(), n, B.data(), n, C.data(), n);
    });
    Record rp = base_record("gemm", "packed1024", "peak", "float32", th, p);
    rp.num["gflops_per_s"] = 2.0 * n * n * n / 1e9 / (p.s.median / 1e3);
    std::fprintf(stderr, "[t%d] packed 1024^3 %.1f GFLOP/s (cpu/wall %.2f)\n", th, rp.num["gflops_per_s"], p.cpu_per_wall);
    g_records.push_back(rp);
  }
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--only") a.only = split_list(val());
    else if (k == "--threads") {
      a.threads.clear();
      for (auto& s : split_list(val())) a.threads.push_back(std::stoi(s));
    } else if (k == "--iters") a.iters = std::stoi(val());
    else if (k == "--warmup") a.warmup = std::stoi(val());
    else if (k == "--trees") a.trees = std::stoi(val());
    else if (k == "--out") a.out = val();
    else if (k == "--packed-isa") {  // for bench/compare: which kernel will run, before it picks OpenBLAS's core
      std::cout << detail::packed_isa_name(detail::best_packed_isa()) << "\n";
      std::exit(0);
    }
    else if (k == "-h" || k == "--help") {
      std::cout << "tapenet_bench [--only small:lstm,medium:gru,lm:lstm,tree:rntn,gemm:peak,custom:lstm,\n"
                   "                      seq2seq:gru,tree:treelstm] [--threads 1,2]\n"
                   "              [--iters 30] [--warmup 5] [--trees 300] [--out FILE]\n"
                   "tapenet_bench --packed-isa\n";
      std::exit(0);
    } else throw std::invalid_argument("unknown argument " + k);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::vector<std::string> jobs = a.only;
  if (jobs.empty())
    jobs = {"gemm:peak",  "small:rnn",   "small:lstm", "small:gru", "medium:rnn",
            "medium:lstm", "medium:gru", "lm:lstm",    "tree:rntn", "custom:lstm", "seq2seq:gru", "tree:treelstm"};
  for (const std::string& job : jobs) {
    const auto colon = job.find(':');
    const std::string cfg = job.substr(0, colon), cell = colon == std::string::npos ? "" : job.substr(colon + 1);
    if (cfg == "gemm") bench_gemm(a);
    else if (cfg == "tree" && kTreeJobs.count(cell)) bench_tree(a, kTreeJobs.at(cell));
    else if (cfg == "seq2seq" && cell == "gru") {
      for (int th : a.threads) {
        set_blas_threads(th);
        bench_seq2seq(a, th);
      }
    } else if (cfg == "custom" && cell == "lstm") {
      for (int th : a.threads) {
        set_blas_threads(th);
        bench_custom_lstm(a, th);
      }
    }
    else if (cfg == "lm") {
      for (int th : a.threads) {
        set_blas_threads(th);
        bench_lm(a, th);
      }
    } else if (kConfigs.count(cfg) && (cell == "rnn" || cell == "lstm" || cell == "gru")) {
      for (int th : a.threads) {
        set_blas_threads(th);
        bench_rnn(a, cfg, cell, th);
      }
    } else {
      std::cerr << "unknown job " << job << "\n";
      return 2;
    }
    write_json(a, a.out);  // after every job, so a partial run still leaves its results
  }
  std::fprintf(stderr, "peak RSS %.0f MB; wrote %s\n", peak_rss_mb(), a.out.c_str());
}
