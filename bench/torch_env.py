"""What the PyTorch anchors of the benchmarks report about their process: the BLAS library
torch.mm runs on (Debian's torch takes libblas.so.3 from the system's alternatives: the reference
BLAS unless OpenBLAS is installed) and the resident memory, for peak-memory figures. Imported by
bench/lce_torch.py and bench/native_train_torch.py (run from this directory's path)."""
import ctypes
import resource


def blas_info():
    """The BLAS library this process mapped, and OpenBLAS's kernel set when it is OpenBLAS."""
    path = 'none mapped'
    with open('/proc/self/maps') as f:
        for line in f:
            p = line.split()[-1]
            if 'blas' in p:
                path = p
                break
    core = ''
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        pass
    return dict(blas=path, openblas_core=core)


def rss_bytes():
    """Resident memory now, bytes."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize()
