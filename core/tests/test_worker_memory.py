"""The worker fixes glibc's mmap threshold so that big transient buffers are given back."""

from __future__ import annotations

import platform

import pytest

from kafka_pipeline._worker.memory import limit_heap_growth

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="a glibc tuning"
)


@glibc_only
def test_glibc_takes_the_threshold() -> None:
    assert limit_heap_growth() is True
