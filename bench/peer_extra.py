#!/usr/bin/python3
"""PyTorch 1.13 twins of tapenet_bench's custom:lstm and seq2seq:gru (run with /usr/bin/python3).

  custom:lstm  the medium LSTM (B 64, T 50, D 256, H 512) written by hand from generic ops,
               the same code as bench_custom_lstm in tapenet_bench.cpp:
                 a = x_t W_ih^T + h W_hh^T + b;  i, f, o = sigmoid, g = tanh of a's blocks
                 c = f*c + i*g;  h = o*tanh(c);  loss = sum over t of h.sum()
               init U(+-1/sqrt(H)) (torch.nn.LSTM's), SGD lr 1e-4 for train.
  seq2seq:gru  examples/translate's model (tapenet layers/seq2seq.cpp, layers/attention.cpp),
               13.03 M parameters: BiGRU encoder 2 x 256, bridge, additive attention, GRU
               decoder 512, embeddings 256, vocabularies 7653 / 5872, batch 64, 14 source and
               15 target tokens (no padding), teacher forcing, mean cross-entropy;
               train = + clip_grad_norm_(5) + Adam(lr 1e-3).
               --gru mirror (default): tapenet's GRU, reset gate BEFORE the recurrent product
                   (Cho et al. 2014; tapenet's GRUCell default, which Seq2Seq uses), written
                   by hand because torch has no such cell; the encoder's input projections
                   are one Linear over all steps, as nn.GRU does on CPU.
               --gru nn: what a PyTorch user writes, nn.GRU(bidirectional) + nn.GRUCell in a
                   Python loop (reset AFTER the product). Same shapes, parameters and FLOPs;
                   only where r multiplies differs.
Modes: fwd (no_grad), fwdgraph (recorded, no backward), fwdbwd (zero_grad + fwd + bwd),
train (fwdbwd + optimizer step). Median of --iters after --warmup. JSON on stdout, in
peer_rnn.py's format (runs with config, cell, mode, median_ms).

Usage: /usr/bin/python3 bench/peer_extra.py --only custom:lstm,seq2seq:gru --threads 1
         [--torch-only] [--iters 30] [--warmup 5] [--gru mirror|nn]
  --threads N: torch.set_num_threads(N) and OpenBLAS N threads; --torch-only leaves OpenBLAS
  at its default (2 here): T1B2 = --threads 1 --torch-only, T1B1 = --threads 1.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench", "peer")))
import benchutil as bu  # noqa: E402  (read-only helpers of the peer benchmark)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

B, T, D, H = 64, 50, 256, 512  # custom:lstm = medium
S2S = dict(src_vocab=7653, tgt_vocab=5872, emb=256, hid=256, batch=64, src_len=14, tgt_len=15)


# ---- custom:lstm ------------------------------------------------------------------------------

def build_custom_lstm():
    g = torch.Generator().manual_seed(1234)
    k = 1.0 / H ** 0.5
    W_ih = ((torch.rand(4 * H, D, generator=g) * 2 - 1) * k).requires_grad_()
    W_hh = ((torch.rand(4 * H, H, generator=g) * 2 - 1) * k).requires_grad_()
    b = ((torch.rand(1, 4 * H, generator=g) * 2 - 1) * k).requires_grad_()
    x = torch.randn(T, B, D, generator=g)
    params = [W_ih, W_hh, b]

    def loss_fn():
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        loss = None
        for t in range(T):
            a = x[t] @ W_ih.t() + h @ W_hh.t() + b
            i = torch.sigmoid(a[:, 0:H])
            f = torch.sigmoid(a[:, H:2 * H])
            gg = torch.tanh(a[:, 2 * H:3 * H])
            o = torch.sigmoid(a[:, 3 * H:4 * H])
            c = f * c + i * gg
            h = o * torch.tanh(c)
            loss = h.sum() if loss is None else loss + h.sum()
        return loss

    return params, loss_fn, torch.optim.SGD(params, lr=1e-4), None


# ---- seq2seq:gru ------------------------------------------------------------------------------

class GRUCellResetBefore(nn.Module):
    """tapenet's GRUCell (reset_after = false), gate blocks r, z, n as torch's:
         r, z = sigmoid(xp_{r,z} + U_{r,z} h + b_h{r,z})     xp = W_ih x + b_ih
         n = tanh(xp_n + U_n (r*h) + b_hn)
         h' = z*h + (1-z)*n
    Parameters named and shaped as nn.GRUCell's."""

    def __init__(self, inp, hid):
        super().__init__()
        self.hid = hid
        ref = nn.GRUCell(inp, hid)
        self.weight_ih, self.weight_hh = ref.weight_ih, ref.weight_hh
        self.bias_ih, self.bias_hh = ref.bias_ih, ref.bias_hh

    def project(self, x):  # xp = W_ih x + b_ih, for one step or all steps at once
        return F.linear(x, self.weight_ih, self.bias_ih)

    def step(self, xp, h):
        Hh = self.hid
        rz = torch.sigmoid(xp[:, :2 * Hh] + F.linear(h, self.weight_hh[:2 * Hh], self.bias_hh[:2 * Hh]))
        r, z = rz[:, :Hh], rz[:, Hh:]
        n = torch.tanh(xp[:, 2 * Hh:] + F.linear(r * h, self.weight_hh[2 * Hh:], self.bias_hh[2 * Hh:]))
        return z * h + (1 - z) * n


class Seq2Seq(nn.Module):
    """tapenet's Seq2Seq (layers/seq2seq.cpp) with its defaults, choice by choice:
      encoder   m_s = [->h_s ; <-h_s] of a 1-layer BiGRU over E_src x       (StackedRNN, bidirectional)
      summary   s^ = [->h_S ; <-h_1], the final h of both directions      (run.final_h())
      bridge    h_0 = tanh(W_br s^ + b_br), 512 -> 512                      (init_from_encoder, bridge)
      attention additive, A = Hq = 512:  keys = M W_k^T (no bias, once per batch);
                e_s = v^T tanh(W_q h_{t-1} + b + keys_s) (v no bias); a = softmax_s(e);
                c_t = sum_s a_s m_s                   (Bahdanau order: the query is h_{t-1})
      step      h_t = GRU([E_tgt y_{t-1} ; c_t], h_{t-1})   input 256 + 512, hidden 512
      readout   logits_t = W_o [h_t ; c_t] + b_o,     1024 -> 5872
      loss      mean over the 15 x 64 target tokens of the cross-entropy (tapenet: sum / tokens)
    The first decoder input is <sos> = 2 (Seq2SeqOptions::start_token)."""

    def __init__(self, gru):
        super().__init__()
        E, He, Hd = S2S["emb"], S2S["hid"], 2 * S2S["hid"]
        self.gru = gru
        self.src_emb = nn.Embedding(S2S["src_vocab"], E)
        self.tgt_emb = nn.Embedding(S2S["tgt_vocab"], E)
        if gru == "nn":
            self.enc = nn.GRU(E, He, bidirectional=True)
            self.cell = nn.GRUCell(E + 2 * He, Hd)
        else:
            self.enc_f = GRUCellResetBefore(E, He)
            self.enc_b = GRUCellResetBefore(E, He)
            self.cell = GRUCellResetBefore(E + 2 * He, Hd)
        self.bridge = nn.Linear(2 * He, Hd)
        self.W_q = nn.Linear(Hd, Hd)              # W_q and b
        self.W_k = nn.Linear(2 * He, Hd, bias=False)
        self.v = nn.Linear(Hd, 1, bias=False)
        self.readout = nn.Linear(Hd + 2 * He, S2S["tgt_vocab"])

    def encode(self, src):
        x = self.src_emb(src)  # [S, B, E]
        if self.gru == "nn":
            mem, h_n = self.enc(x)
            return mem, torch.cat([h_n[0], h_n[1]], 1)
        S, Bn, _ = x.shape
        xf, xb = self.enc_f.project(x), self.enc_b.project(x)  # all steps at once
        h = torch.zeros(Bn, S2S["hid"])
        fwd = []
        for s in range(S):
            h = self.enc_f.step(xf[s], h)
            fwd.append(h)
        h = torch.zeros(Bn, S2S["hid"])
        bwd = [None] * S
        for s in reversed(range(S)):
            h = self.enc_b.step(xb[s], h)
            bwd[s] = h
        mem = torch.cat([torch.stack(fwd), torch.stack(bwd)], 2)  # [S, B, 2He]
        return mem, torch.cat([fwd[-1], bwd[0]], 1)

    def forward(self, src, tgt):
        mem, summary = self.encode(src)
        keys = self.W_k(mem)                        # [S, B, A]
        h = torch.tanh(self.bridge(summary))
        y_prev = torch.full((src.shape[1],), 2, dtype=torch.long)
        logits = []
        for t in range(tgt.shape[0]):
            e = self.v(torch.tanh(keys + self.W_q(h))).squeeze(2)   # [S, B]
            a = torch.softmax(e, 0)
            c = (a.unsqueeze(2) * mem).sum(0)                        # [B, 2He]
            inp = torch.cat([self.tgt_emb(y_prev), c], 1)
            h = self.cell(inp, h) if self.gru == "nn" else self.cell.step(self.cell.project(inp), h)
            logits.append(self.readout(torch.cat([h, c], 1)))
            y_prev = tgt[t]                                          # teacher forcing
        return F.cross_entropy(torch.stack(logits).view(-1, S2S["tgt_vocab"]), tgt.view(-1))


def build_seq2seq(gru):
    torch.manual_seed(1)
    model = Seq2Seq(gru)
    g = torch.Generator().manual_seed(1)
    src = torch.randint(4, S2S["src_vocab"], (S2S["src_len"], S2S["batch"]), generator=g)
    tgt = torch.randint(4, S2S["tgt_vocab"], (S2S["tgt_len"], S2S["batch"]), generator=g)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)

    def clip():
        torch.nn.utils.clip_grad_norm_(params, 5.0)

    return params, lambda: model(src, tgt), opt, clip


# ---- timing -----------------------------------------------------------------------------------

def run_job(job, args):
    if job == "custom:lstm":
        params, loss_fn, opt, clip = build_custom_lstm()
    elif job == "seq2seq:gru":
        params, loss_fn, opt, clip = build_seq2seq(args.gru)
    else:
        raise SystemExit(f"unknown job {job}")
    cfg, cell = job.split(":")
    n_params = sum(p.numel() for p in params)

    def zero():
        for p in params:
            p.grad = None

    def f_fwd():
        with torch.no_grad():
            return loss_fn()

    def f_fwdbwd():
        zero()
        loss_fn().backward()

    def f_train():
        f_fwdbwd()
        if clip:
            clip()
        opt.step()

    out = []
    for mode, fn in (("fwd", f_fwd), ("fwdgraph", loss_fn), ("fwdbwd", f_fwdbwd), ("train", f_train)):
        for _ in range(args.warmup):
            fn()
        ts = []
        with bu.IdleProbe() as probe:
            for _ in range(args.iters):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
        rec = dict(config=cfg, cell=cell, mode=mode, threads=args.threads, torch_only_threads=args.torch_only,
                   parameters=n_params, **bu.stats_ms(ts))
        if cfg == "seq2seq":
            rec["gru"] = args.gru
            rec["sentences_per_s"] = S2S["batch"] / (rec["median_ms"] / 1e3)
        rec.update(probe.as_dict())
        out.append(rec)
        print(f"[t{args.threads}{'*' if args.torch_only else ''}] {cfg:8s} {cell:5s} {mode:9s} "
              f"{rec['median_ms']:9.3f} ms  params {n_params}  foreign={rec['foreign_cpu_per_wall']}",
              file=sys.stderr, flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="custom:lstm,seq2seq:gru")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--torch-only", action="store_true", help="set torch's threads only, OpenBLAS keeps its default")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--gru", choices=["mirror", "nn"], default="mirror")
    args = ap.parse_args()
    meta = bu.meta_common(torch)
    bu.set_threads(args.threads, torch, blas=not args.torch_only)
    meta["openblas_threads_in_run"] = bu.openblas().openblas_get_num_threads()
    meta["torch_threads_in_run"] = torch.get_num_threads()
    runs = []
    for job in args.only.split(","):
        runs += run_job(job, args)
    meta["loadavg_end"] = bu.loadavg()
    json.dump({"meta": meta, "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
