"""glibc's allocator, tuned for this pipeline's allocation patterns (Linux only; a no-op elsewhere).

By default glibc hands large freed blocks back to the kernel (``munmap``, heap trimming) and the
next allocation of the same size faults its pages in again, one by one, each zero-filled by the
kernel. Data generation frees a few hundred KB per file; a training step frees and reallocates the
same activations (up to tens of MB each) every step: on the CPU that was 60,000 to 100,000 page
faults per training step of AGCN, SGN and ImpSGNv2 (BENCHMARKS.md). Keeping freed memory for reuse
removes them; the resident set stays at the working set's peak.
"""

from __future__ import annotations

import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
# Data generation (measured on NTU parsing): blocks up to 16 MiB from the heap, 128 MiB kept free.
GENDATA = {"mmap_threshold": 16 << 20, "trim_threshold": 128 << 20, "top_pad": 16 << 20}
# Training and testing: blocks up to 32 MiB (glibc's largest threshold on 64-bit; a batch-64 SGN
# activation is 31 MiB) from the heap, up to 1 GiB of freed memory kept for the next step.
TRAINING = {"mmap_threshold": 32 << 20, "trim_threshold": 1 << 30, "top_pad": 16 << 20}


def user_tuned() -> bool:
    """Whether the environment already sets glibc's allocator (``MALLOC_*_`` or ``GLIBC_TUNABLES``)."""
    return any(k.startswith("MALLOC_") or k == "GLIBC_TUNABLES" for k in os.environ)


def keep_freed_memory(mmap_threshold: int, trim_threshold: int, top_pad: int) -> bool:
    """Ask glibc (``mallopt``) to serve blocks up to ``mmap_threshold`` bytes from its heap and to
    keep up to ``trim_threshold`` bytes of freed memory; False where that is not glibc on Linux, or
    where the environment already tunes the allocator (its settings win). Forked workers inherit it.
    """
    if not sys.platform.startswith("linux") or user_tuned():
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return all(
            libc.mallopt(option, value) == 1
            for option, value in (
                (M_MMAP_THRESHOLD, mmap_threshold),
                (M_TRIM_THRESHOLD, trim_threshold),
                (M_TOP_PAD, top_pad),
            )
        )
    except (OSError, AttributeError):
        return False
