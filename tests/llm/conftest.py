"""Shared settings of the llm_minibatch tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: these ops are tiny, and on a shared machine OpenMP threads that
    spin-wait for a busy core make calls erratically slow (seconds instead of milliseconds)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
