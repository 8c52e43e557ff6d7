"""Process-level memory settings for CPU training loops."""
from __future__ import annotations

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters (malloc.h)


def retain_freed_memory() -> bool:
    """Let glibc's ``malloc`` keep freed memory for reuse instead of returning it to the OS (Linux/glibc only).

    Training steps on CPU allocate and free the same few-hundred-KB activation buffers every step; with
    glibc's defaults the freed heap top is trimmed and re-faulted each time. This raises the trim threshold
    to 1 GiB and serves blocks up to 32 MiB from the heap. It is process-wide and only affects how memory
    is recycled (never results); it returns whether it applied.
    """
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False
