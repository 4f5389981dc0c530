"""Writes the PyTorch fixtures of tests/test_pytorch_import.cpp (the test itself needs no Python).

Run from anywhere with a Python that has torch and numpy (written with torch 1.13.1, numpy 1.24):
    python3 tests/data/torch_make_fixtures.py
Each .npz holds a module's state_dict under PyTorch's own names (weight_ih_l0, ...,
*_reverse for the backward direction), the input sequence `input` [T, B, D], the initial
states `h0` (and `c0`) [layers·directions, B, H], and what torch computed: `output`
[T, B, directions·H], `h_n` (and `c_n`). All float64.
"""
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
T, B, D, H = 5, 2, 3, 4


def save(name, module, x, h0, output, h_n, c0=None, c_n=None):
    arrays = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    arrays.update(input=x.numpy(), h0=h0.numpy(), output=output.detach().numpy(), h_n=h_n.detach().numpy())
    if c0 is not None:
        arrays.update(c0=c0.numpy(), c_n=c_n.detach().numpy())
    for v in arrays.values():
        assert v.dtype == np.float64
    np.savez(os.path.join(HERE, name), **arrays)


def main():
    torch.manual_seed(20240613)
    with torch.no_grad():
        # A 2-layer LSTM (layer 1 reads layer 0's output) from non-zero initial states.
        lstm = torch.nn.LSTM(D, H, num_layers=2).double()
        x = torch.randn(T, B, D, dtype=torch.float64)
        h0 = 0.5 * torch.randn(2, B, H, dtype=torch.float64)
        c0 = 0.5 * torch.randn(2, B, H, dtype=torch.float64)
        output, (h_n, c_n) = lstm(x, (h0, c0))
        save("torch_lstm.npz", lstm, x, h0, output, h_n, c0, c_n)

        # A bidirectional GRU: output[t] = [forward h_t, backward h_t].
        gru = torch.nn.GRU(D, H, bidirectional=True).double()
        x = torch.randn(T, B, D, dtype=torch.float64)
        h0 = 0.5 * torch.randn(2, B, H, dtype=torch.float64)
        output, h_n = gru(x, h0)
        save("torch_gru.npz", gru, x, h0, output, h_n)

        # An Elman RNN with tanh.
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh").double()
        x = torch.randn(T, B, D, dtype=torch.float64)
        h0 = 0.5 * torch.randn(1, B, H, dtype=torch.float64)
        output, h_n = rnn(x, h0)
        save("torch_rnn.npz", rnn, x, h0, output, h_n)


if __name__ == "__main__":
    main()
