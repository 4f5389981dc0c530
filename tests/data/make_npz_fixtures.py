#!/usr/bin/env python3
"""Writes the numpy interop fixtures of tests/test_npz_interop.cpp (run once, commit the output).

    /usr/bin/python3 tests/data/make_npz_fixtures.py    # numpy 1.24 wrote the committed files

The tests need no python: they read the committed files and rebuild the values in C++.
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(here, name)


# Every integer and bool dtype, at its extremes.
ints = {
    "i1": np.array([-128, -1, 0, 127], dtype=np.int8),
    "i2": np.array([-32768, -1, 0, 32767], dtype=np.int16),
    "i4": np.array([-2**31, -1, 0, 2**31 - 1], dtype=np.int32),
    "i8": np.array([-2**63, -1, 0, 2**63 - 1], dtype=np.int64),
    "u1": np.array([0, 1, 200, 255], dtype=np.uint8),
    "u2": np.array([0, 1, 40000, 65535], dtype=np.uint16),
    "u4": np.array([0, 1, 3000000000, 2**32 - 1], dtype=np.uint32),
    "u8": np.array([0, 1, 2**40, 2**63 - 1], dtype=np.uint64),
    "b1": np.array([True, False, True, True]),
    "scalar_i2": np.int16(-5),
    "matrix_i4": np.arange(6, dtype=np.int32).reshape(2, 3) - 2,
    "u8_too_big": np.array([2**63], dtype=np.uint64),
}
# Fortran-order arrays: value = C-order position, so C order reads 0, 1, 2, ...
fortran = {
    "f_w32": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "f_cube64": np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4)),
    "f_i2": np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)),
    "f_vec": np.asfortranarray(np.arange(3, dtype=np.float32)),  # 1-D: same as C order
}
for a in list(fortran.values())[:3]:
    assert a.flags.f_contiguous and not a.flags.c_contiguous
rejected = {
    "f16": np.array([1.0, 2.0], dtype=np.float16),
    "be_f4": np.array([1.0, 2.0], dtype=">f4"),
    "c8": np.array([1 + 2j], dtype=np.complex64),
    "unicode": np.array("lstm"),
}
doubles = {
    "lr": np.float64(0.001),
    "losses": np.array([2.5, -0.0, np.inf, 1e-300]),
}

everything = {**ints, **fortran, **rejected, **doubles}
np.savez(path("numpy_interop.npz"), **everything)
# The same arrays deflated, plus one that compresses well.
np.savez_compressed(path("numpy_interop_compressed.npz"), **everything,
                    big=np.tile(np.arange(10, dtype=np.float32), 300).reshape(30, 100))
np.save(path("numpy_fortran.npy"), fortran["f_cube64"])
np.save(path("numpy_bool.npy"), np.array([[True, False], [False, True]]))
print("wrote numpy_interop.npz, numpy_interop_compressed.npz, numpy_fortran.npy, numpy_bool.npy")
