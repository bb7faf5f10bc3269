#!/usr/bin/python3
"""lstm_ref.py — an independent NumPy (float64) forward pass of the end model, to check
the C one against: Embedding -> per-sequence channel mask (SpatialDropout1D x LSTM
input dropout) -> LSTM (Keras gate order i, f, c, o; recurrent dropout on h(t-1), as
Keras' implementation 2) -> Dense -> softmax.  Padding id 0 is an ordinary token
(Keras' mask_zero=False).

Usage: lstm_ref.py IN OUT.  IN holds, little-endian: int32 vocab, embed, hidden,
classes, batch, seq_len, has_masks; then float32 E, Wx, Wh, b, Wd, bd (row-major, Keras
shapes); int32 tokens (batch x seq_len); and, with has_masks, float32 in_mask
(batch x embed) and rec_mask (batch x hidden).  OUT gets float64 probabilities
(batch x classes) followed by the last hidden state (batch x hidden).
"""
import sys

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def forward(E, Wx, Wh, b, Wd, bd, tokens, in_mask, rec_mask):
    batch, seq_len = tokens.shape
    hidden = Wh.shape[0]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    for t in range(seq_len):
        x = E[tokens[:, t]] * in_mask
        z = x @ Wx + (h * rec_mask) @ Wh + b
        i = sigmoid(z[:, :hidden])
        f = sigmoid(z[:, hidden:2 * hidden])
        g = np.tanh(z[:, 2 * hidden:3 * hidden])
        o = sigmoid(z[:, 3 * hidden:])
        c = f * c + i * g
        h = o * np.tanh(c)
    logits = h @ Wd + bd
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True), h


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: lstm_ref.py IN OUT")
    raw = open(sys.argv[1], "rb").read()
    head = np.frombuffer(raw, dtype="<i4", count=7)
    vocab, embed, hidden, classes, batch, seq_len, has_masks = (int(v) for v in head)
    pos = 7 * 4

    def take(dtype, shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = np.frombuffer(raw, dtype=dtype, count=n, offset=pos).reshape(shape)
        pos += n * 4
        return a.astype(np.float64) if dtype == "<f4" else a.astype(np.int64)

    G = 4 * hidden
    E = take("<f4", (vocab, embed))
    Wx = take("<f4", (embed, G))
    Wh = take("<f4", (hidden, G))
    b = take("<f4", (G,))
    Wd = take("<f4", (hidden, classes))
    bd = take("<f4", (classes,))
    tokens = take("<i4", (batch, seq_len))
    if has_masks:
        in_mask = take("<f4", (batch, embed))
        rec_mask = take("<f4", (batch, hidden))
    else:
        in_mask = np.ones((batch, embed))
        rec_mask = np.ones((batch, hidden))
    if pos != len(raw):
        sys.exit(f"{sys.argv[1]}: {len(raw) - pos} bytes left over: bad layout")
    p, h = forward(E, Wx, Wh, b, Wd, bd, tokens, in_mask, rec_mask)
    with open(sys.argv[2], "wb") as f:
        f.write(p.astype("<f8").tobytes())
        f.write(h.astype("<f8").tobytes())


if __name__ == "__main__":
    main()
