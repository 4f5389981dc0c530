#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under tests/fuzz/corpus/<target>/ (run once,
commit the output; the fuzz phase of scripts/test copies them and never writes here).

    /usr/bin/python3 tests/fuzz/make_seeds.py     # needs numpy for the npy/npz seeds
"""
import io
import os
import shutil

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "data")


def seeds(target, items):
    d = os.path.join(here, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, b in enumerate(items):
        with open(os.path.join(d, "seed%02d" % i), "wb") as f:
            f.write(b if isinstance(b, bytes) else b.encode())


trees = open(os.path.join(data, "tree_small.txt"), "rb").read().splitlines()
seeds("tree", trees + [b"(0 (1 a) (2 (3 b) (4 c)))", b"(2 \xc2\xa0x)", b"(3 (2 a)", b"(9 x)"])

pair_lines = [
    "Go.\tVa !\n",
    "I'm OK.\tJe vais bien.\r\nHe's tall.\tIl est grand.\n",
    "\ufeffYou're late.\tTu es en retard.\nno tab here\na\tb\tc\n",
    "It costs 3.5 euros.\tÇa coûte 3,5 euros.\n\t\n",
    "Stop!\t\u00abArr\u00eate\u00a0!\u00bb\n",
]
seeds("pairs", [bytes([flags]) + line.encode() for flags, line in zip([0, 1, 0x0F, 0x8B, 0x4E], pair_lines)] +
      [b"\x00bad \xff\xfe utf8\tx\n"])

texts = ["Qu\u2019est-ce que c\u2019est ?", "L'HOMME \u00c9T\u00c9 \u0152UVRE", "3.5, 10,000 \u2026 \u00bfqu\u00e9?",
         "soft\u00adhyphen\u200bzero\u202fnarrow", "e\u0301t\u00e9 caf\u00e9 na\u00efve"]
seeds("text", [bytes([f]) + t.encode() for f, t in zip([7, 1, 4, 6, 3], texts)] +
      [b"\x07\xc0\xaf overlong", b"\x05\xed\xa0\x80 surrogate", b"\x07\xf4\x90\x80\x80 big", b"\x04ok\xe2\x82"])


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1.5, -2.0]), np.int64(7),
          np.frombuffer("lstm".encode(), dtype=np.uint8), np.array([True, False]),
          np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)), np.array([1, 2], dtype=np.uint64),
          np.zeros((0, 3), dtype=np.float32), np.array([1.0], dtype=np.float16), np.array([1.0], dtype=">f4")]
seeds("npy", [npy(a) for a in arrays])


def npz(compressed, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


seeds("npz", [npz(False, a=np.arange(3, dtype=np.float32)),
              npz(True, w=np.arange(6, dtype=np.float32).reshape(2, 3), step=np.int64(3)),
              npz(True, cell=np.frombuffer(b"gru", dtype=np.uint8), f=np.asfortranarray(np.eye(2))),
              npz(False, i=np.array([1, 2], dtype=np.int8), b=np.array([True])),
              open(os.path.join(data, "numpy_savez_compressed.npz"), "rb").read()])

seeds("words", ["the cat sat on the mat\nthe dog\n", "a b c\n\nd e <unk> f\n", "<unk>\nthe\ncat\n",
                "caf\u00e9 \u00e9t\u00e9\tna\u00efve\r\n", "x \xff y\n", "<unk>\nthe\n\nthe\n"])
seeds("nary_tree", ["(S (NP (DT the) (JJ big) (NN cat)) (VP (VBD sat)) (. .))\n",
                    "(3 (2 It) (4 (4 works) (2 .)))", "( (S (NP (-LRB- -LRB-) (NNP A\\/B)) (VP (VBZ is))))\n",
                    "(A (B x) (C y)) (D z)\n\n(E\n  (F w)\n  (G v)\n  (H u))\n", "(NN cat)",
                    "(X (X (X (X (W w)))))\r\n", "(S (NP (DT the)) (VP (V sat))", "(NP the (NN cat))",
                    "(NN big cat)", "(S (NP) (VP (V sat)))", "(NN cat) dog", "()"])


def conllu_line(id, form, upos, head, deprel):
    return "\t".join([id, form, form, upos, upos + "x", "_", head, deprel, "_", "_"]) + "\n"


dont = ("# sent_id = s1\n# text = I don't go .\n" + conllu_line("1", "I", "PRON", "4", "nsubj") +
        conllu_line("2-3", "don't", "_", "_", "_") + conllu_line("2", "do", "AUX", "4", "aux") +
        conllu_line("3", "n't", "PART", "4", "advmod") + conllu_line("4", "go", "VERB", "0", "root") +
        conllu_line("4.1", "went", "VERB", "_", "_") + conllu_line("5", ".", "PUNCT", "4", "punct") + "\n")
two = conllu_line("1", "Hi", "INTJ", "0", "root") + conllu_line("2", "!", "PUNCT", "1", "punct")
seeds("conllu", [dont, dont.replace("\n", "\r\n") + "\n\n" + two,
                 "# newdoc id = d\n# sent_id = 2\n" + conllu_line("0.1", "e", "_", "_", "_") + two + "\n",
                 conllu_line("1", "a", "X", "0", "root") + conllu_line("2", "b", "X", "0", "root"),  # two roots
                 conllu_line("1", "a", "X", "2", "d") + conllu_line("2", "b", "X", "1", "d"),  # a cycle, no root
                 conllu_line("1", "a", "X", "3", "d") + conllu_line("2", "b", "X", "0", "root"),  # HEAD out of range
                 conllu_line("1", "a", "X", "0", "root") + conllu_line("3", "c", "X", "1", "d"),  # ID skipped
                 conllu_line("1-x", "ab", "_", "_", "_") + "1\ta\ta\tX\t_\t_\t0\troot\t_\n",  # bad range, 9 columns
                 "# only a comment\n\n"])
print("seeds written under", os.path.join(here, "corpus"))
