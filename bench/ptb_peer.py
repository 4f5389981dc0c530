"""Second opinion on examples/word_lm's curves: the Zaremba et al. (2014) small recipe in
PyTorch (torch.nn.LSTM / GRU, 2 x 200, bptt 20, batch 20, uniform +-0.1 init, SGD lr 1
kept 4 epochs then halved, global-norm clip 5, no dropout), printing train and valid
perplexity by epoch. Not a timing: one intra-op thread, while other jobs run.

  /usr/bin/python3 bench/ptb_peer.py --data ../shared/data/ptb --cell gru --epochs 1
"""
import argparse
import math
import time

import torch
import torch.nn as nn


def read_words(path):
    with open(path, encoding='utf-8') as f:
        return [w for line in f for w in line.split() + ['<eos>']]


def lanes(words, vocab, batch):
    ids = torch.tensor([vocab[w] for w in words])
    steps = len(ids) // batch
    return ids[:steps * batch].view(batch, steps).t().contiguous()  # [time, lanes]


class LanguageModel(nn.Module):
    def __init__(self, cell, vocabulary, hidden, layers, init_scale):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, hidden)
        self.rnn = {'lstm': nn.LSTM, 'gru': nn.GRU}[cell](hidden, hidden, layers)
        self.readout = nn.Linear(hidden, vocabulary)
        for p in self.parameters():
            nn.init.uniform_(p, -init_scale, init_scale)

    def forward(self, x, state):
        y, state = self.rnn(self.embed(x), state)
        return self.readout(y), state


def detached(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def perplexity(model, data, bptt, optimizer=None, clip=5.0):
    """One pass over the lanes, state carried; trains when an optimizer is given."""
    state, total, count = None, 0.0, 0
    for t in range(0, data.size(0) - 1, bptt):
        targets = data[t + 1:t + 1 + bptt]
        logits, state = model(data[t:t + len(targets)], state)
        state = detached(state)
        loss = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        if optimizer:
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
        total += loss.item() * targets.numel()
        count += targets.numel()
    return math.exp(total / count)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--data', required=True, help='folder with ptb.train.txt and ptb.valid.txt')
    ap.add_argument('--cell', choices=['lstm', 'gru'], default='lstm')
    ap.add_argument('--epochs', type=int, default=13)
    ap.add_argument('--lr', type=float, default=1.0)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train = read_words(f'{args.data}/ptb.train.txt')
    valid = read_words(f'{args.data}/ptb.valid.txt')
    vocab = {w: i for i, w in enumerate(sorted(set(train)))}
    train_lanes, valid_lanes = lanes(train, vocab, 20), lanes(valid, vocab, 20)
    model = LanguageModel(args.cell, len(vocab), 200, 2, 0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        if epoch > 4:
            optimizer.param_groups[0]['lr'] *= 0.5
        start = time.time()
        train_ppl = perplexity(model, train_lanes, 20, optimizer)
        with torch.no_grad():
            valid_ppl = perplexity(model, valid_lanes, 20)
        print(f'{args.cell} epoch {epoch}: lr {optimizer.param_groups[0]["lr"]:.3f}, train ppl {train_ppl:.2f}, '
              f'valid ppl {valid_ppl:.2f} ({time.time() - start:.0f} s)', flush=True)


if __name__ == '__main__':
    main()
