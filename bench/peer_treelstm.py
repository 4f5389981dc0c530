#!/usr/bin/python3
"""PyTorch 1.13 twin of tapenet_bench's tree:treelstm (run with /usr/bin/python3).

Binary constituency Tree-LSTM (Tai et al. 2015), d = 150, vocabulary 1000, 5 classes, on the
peer's random 20-leaf trees (make_trees of ../shared/bench/peer/peer_tree.py, imported), with
tapenet's equations (layers/tree_nets.cpp, TreeModel::TreeLSTM, LeafCell::Gated):
  leaves (all of a tree at once):  z = W w + b_leaf        W [3d, d], blocks i, o, u
                                   c = sigmoid(z_i) * tanh(z_u),  h = sigmoid(z_o) * tanh(c)
  internal node:                   z = U [h_L; h_R] + b    U [5d, 2d], blocks i, f_L, f_R, o, u
                                   c = i*u + f_L*c_L + f_R*c_R,  h = o * tanh(c)
  loss: Linear(d, 5) on the stacked h of all 39 nodes, cross-entropy summed (the peer's
  "stacked" variant, as tree:rntn). Init as tapenet: Glorot-uniform W and U, zero biases,
  embedding N(0, 0.1^2).
The per-tree recursion is peer_tree.py's: node by node, one tree per step. Modes fwd,
fwdbwd, train (SGD lr 0.01); float32 and float64. JSON on stdout in peer_tree.py's format.

Usage: /usr/bin/python3 bench/peer_treelstm.py [--threads 1] [--trees 300] [--warmup 10]
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench", "peer")))
import benchutil as bu  # noqa: E402
from peer_tree import NCLASS, VOCAB, make_trees  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

D = 150


def glorot(rows, cols, g, dt):
    a = (6.0 / (rows + cols)) ** 0.5
    return (torch.rand(rows, cols, generator=g, dtype=dt) * 2 - 1) * a


def run_dtype(dtype_name, trees_py, args):
    dt = getattr(torch, dtype_name)
    g = torch.Generator().manual_seed(42)
    P = {
        "L": torch.randn(VOCAB, D, generator=g, dtype=dt) * 0.1,
        "W": glorot(3 * D, D, g, dt),
        "b_leaf": torch.zeros(3 * D, dtype=dt),
        "U": glorot(5 * D, 2 * D, g, dt),
        "b": torch.zeros(5 * D, dtype=dt),
        "Ws": glorot(NCLASS, D, g, dt),
        "bs": torch.zeros(NCLASS, dtype=dt),
    }
    for p in P.values():
        p.requires_grad_(True)
    params = list(P.values())
    opt = torch.optim.SGD(params, lr=0.01)
    trees = [(torch.tensor(words), internal, torch.tensor(labels)) for words, internal, labels in trees_py]

    def loss_of(tr):
        words, internal, labels = tr
        z = F.linear(F.embedding(words, P["L"]), P["W"], P["b_leaf"])  # [L, 3d]
        io = torch.sigmoid(z[:, :2 * D])
        c_leaf = io[:, :D] * torch.tanh(z[:, 2 * D:])
        h_leaf = io[:, D:] * torch.tanh(c_leaf)
        h = list(h_leaf.unbind(0)) + [None] * len(internal)
        c = list(c_leaf.unbind(0)) + [None] * len(internal)
        for i, lft, rgt in internal:
            z = F.linear(torch.cat([h[lft], h[rgt]]), P["U"], P["b"])  # [5d]
            gates = torch.sigmoid(z[:4 * D])
            u = torch.tanh(z[4 * D:])
            c[i] = gates[:D] * u + gates[D:2 * D] * c[lft] + gates[2 * D:3 * D] * c[rgt]
            h[i] = gates[3 * D:] * torch.tanh(c[i])
        return F.cross_entropy(F.linear(torch.stack(h), P["Ws"], P["bs"]), labels, reduction="sum")

    def f_fwd(tr):
        with torch.no_grad():
            return loss_of(tr)

    def f_fwdbwd(tr):
        for p in params:
            p.grad = None
        loss_of(tr).backward()

    def f_train(tr):
        f_fwdbwd(tr)
        opt.step()

    out = []
    for mode, fn in (("fwd", f_fwd), ("fwdbwd", f_fwdbwd), ("train", f_train)):
        for i in range(args.warmup):
            fn(trees[i % len(trees)])
        ts = []
        with bu.IdleProbe() as probe:
            t_all = time.perf_counter()
            for tr in trees:
                t0 = time.perf_counter()
                fn(tr)
                ts.append(time.perf_counter() - t0)
            t_all = time.perf_counter() - t_all
        rec = dict(variant="stacked", model="treelstm", dtype=dtype_name, mode=mode, threads=args.threads,
                   trees=len(trees), **bu.stats_ms(ts))
        rec["trees_per_s"] = len(trees) / t_all
        rec["trees_per_s_from_median"] = 1e3 / rec["median_ms"]
        rec.update(probe.as_dict())
        out.append(rec)
        print(f"[t{args.threads}] treelstm {dtype_name} {mode:7s} {rec['trees_per_s']:8.1f} trees/s  "
              f"median {rec['median_ms']:.3f} ms  foreign={rec['foreign_cpu_per_wall']}", file=sys.stderr, flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and OpenBLAS threads")
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()
    meta = bu.meta_common(torch)
    bu.set_threads(args.threads, torch)
    trees_py = make_trees(args.trees)
    runs = run_dtype("float32", trees_py, args) + run_dtype("float64", trees_py, args)
    meta["loadavg_end"] = bu.loadavg()
    json.dump({"meta": meta, "runs": runs}, sys.stdout)


if __name__ == "__main__":
    main()
