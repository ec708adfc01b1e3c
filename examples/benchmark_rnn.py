"""Benchmark: a training step of recurrent layers, minigrad against PyTorch: the script form of ``minigrad bench``.

The measuring code lives in :mod:`minigrad.bench` and the options in
``minigrad bench --help``; this file keeps the old script path working:

    python examples/benchmark_rnn.py --quick
    python examples/benchmark_rnn.py --size small --model lstm --threads 1
"""

from __future__ import annotations

from minigrad.cli import bench as main

if __name__ == "__main__":
    main()
