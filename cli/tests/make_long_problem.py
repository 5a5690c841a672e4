#!/usr/bin/python3
"""Writes a long attention problem file for measuring `attncheck trace` on it (docs/file-formats.md,
"Long problems"): make_long_problem.py BATCH HEADS LEN DIM OUT.json [SEED].

Values are multiples of 1/64 in [-2, 2], exact in f32, f16 and bf16, so the file is short and
every tool reads the same numbers. Not used by the test suite (its problems are small)."""
import json
import random
import sys


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    batch, heads, length, dim = (int(a) for a in sys.argv[1:5])
    rng = random.Random(int(sys.argv[6]) if len(sys.argv) == 7 else 0)
    count = batch * heads * length * dim

    def tensor():
        return [rng.randint(-128, 128) / 64 for _ in range(count)]

    problem = {
        "name": f"long problem B={batch} H={heads} L={length} D={dim}",
        "dtype": "f32",
        "shape": {"batch": batch, "q_heads": heads, "q_len": length, "kv_len": length, "head_dim": dim},
        "causal": True,
        "q": tensor(), "k": tensor(), "v": tensor(),
    }
    with open(sys.argv[5], "w") as out:
        json.dump(problem, out, separators=(",", ":"))


if __name__ == "__main__":
    main()
