"""Truncated BPTT keeps memory flat: the state is carried, its graph is cut, nothing piles up.

300 chunks of an LSTM trained with Adam and :func:`minigrad.nn.utils.detach_state` must not grow the
traced memory after warm-up, on both recurrent paths. The negative controls show that the measurement
can fail: the same loop keeping every chunk's graph alive grows by megabytes, and without detaching the
state at all the next chunk warns and its backward fails.
"""

from __future__ import annotations

import gc
import tracemalloc
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.autograd import STALE_GRAPH_MESSAGE
from minigrad.nn.tbptt import detach_state, time_chunks

BATCH, INPUT, HIDDEN, CLASSES, CHUNK = 8, 8, 32, 4, 10
MB = 1e6


def make_task(seed: int = 0, chunks: int = 20):
    """An LSTM, a head, Adam over both and a sequence of ``chunks`` chunks of ``CHUNK`` steps."""
    mg.manual_seed(seed)
    lstm = mg.nn.LSTM(INPUT, HIDDEN)
    head = mg.nn.Linear(HIDDEN, CLASSES)
    opt = mg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((BATCH, CHUNK * chunks, INPUT)).astype(np.float32))
    y = mg.tensor(rng.integers(0, CLASSES, (BATCH, CHUNK * chunks)))
    return lstm, head, opt, list(time_chunks(x, y, size=CHUNK))


def traced_memory(impl: str, steps: int, marks: set[int], detach: bool = True, retain_graph: bool = False) -> dict:
    """Train ``steps`` chunks (cycling over the data) and return ``{step: traced bytes}`` after each step in
    ``marks`` (garbage collected first). Any warning is an error: a correct loop raises none."""
    lstm, head, opt, chunks = make_task()
    memory = {}
    state = None
    gc.collect()
    tracemalloc.start()
    try:
        with warnings.catch_warnings(), mg.nn.recurrent_impl(impl):
            warnings.simplefilter("error")
            for step in range(1, steps + 1):
                xc, yc = chunks[(step - 1) % len(chunks)]
                out, state = lstm(xc, state)
                loss = F.cross_entropy(head(out), yc)
                opt.zero_grad()
                loss.backward(retain_graph=retain_graph)
                opt.step()
                assert np.isfinite(loss.item())
                if detach:
                    state = detach_state(state)
                if step in marks:
                    gc.collect()
                    memory[step] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return memory


@pytest.mark.parametrize("impl", ["fused", "composed"])
def test_truncated_bptt_keeps_memory_flat_for_300_steps(impl):
    memory = traced_memory(impl, steps=300, marks={50, 175, 300})
    growth = memory[300] - memory[50]
    assert growth < 1 * MB, f"{impl}: traced memory grew by {growth / MB:.3f} MB from step 50 to 300"
    # not a slow climb that happens to stay under the bound: the second half grows no more than noise
    assert memory[300] - memory[175] < 0.5 * MB, {k: v / MB for k, v in memory.items()}


@pytest.mark.parametrize("impl", ["fused", "composed"])
def test_keeping_every_chunks_graph_grows_memory(impl):
    # negative control: the state is not detached and each backward keeps the graph, so every chunk's
    # activations stay reachable from the state (full BPTT). Each backward walks the whole history,
    # so this runs few steps; it must still grow by well over the 1 MB bound above.
    memory = traced_memory(impl, steps=30, marks={10, 30}, detach=False, retain_graph=True)
    growth = memory[30] - memory[10]
    assert growth > 2 * MB, f"{impl}: only {growth / MB:.3f} MB for 20 chunks of kept graph"


@pytest.mark.parametrize("impl", ["fused", "composed"])
def test_without_detach_the_next_chunk_warns_and_its_backward_fails(impl):
    lstm, head, opt, chunks = make_task()
    with mg.nn.recurrent_impl(impl):
        out, state = lstm(chunks[0][0])
        F.cross_entropy(head(out), chunks[0][1]).backward()  # frees the first chunk's graph
        opt.step()
        with pytest.warns(UserWarning) as caught:
            out, state = lstm(chunks[1][0], state)  # the state still points into the freed graph
        assert any(str(w.message) == STALE_GRAPH_MESSAGE for w in caught)
        loss = F.cross_entropy(head(out), chunks[1][1])
        with pytest.raises(RuntimeError, match="already freed"):
            loss.backward()


def test_detach_state_cuts_the_graph_but_keeps_the_values():
    lstm, _, _, chunks = make_task()
    _, state = lstm(chunks[0][0])
    cut = detach_state(state)
    assert isinstance(cut, tuple) and len(cut) == 2
    for before, after in zip(state, cut):
        assert before.requires_grad and not after.requires_grad
        assert after.is_leaf
        assert np.array_equal(before.numpy(), after.numpy())
    assert detach_state(None) is None
    with pytest.raises(TypeError, match="detach_state"):
        detach_state({"h": state[0]})
