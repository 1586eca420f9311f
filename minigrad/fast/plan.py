"""A plan: the fast engine's speed choices for one machine, as data.

Which algorithm is fastest for a 3x3 convolution depends on the processor as much
as on the layer: the width of its vectors, its caches, its BLAS kernel. On a
2-core AVX2 machine Winograd F(2x2, 3x3) won the forward pass; on a 2-core AVX-512
machine F(4x4, 3x3) won it by 20-30% (benchmarks/RESULTS.md). So, as FFTW's
planner and cuDNN's benchmark mode do, the choices are measured on the machine
that runs them (minigrad/fast/tune.py) and written down here:

    Plan(threads=2, band_bytes=4 << 20,
         convs=(Conv(C=64, K=64, side=256, forward=4, backward=4, forward_tiles=128),
                Conv(C=512, K=512, side=16, forward=2, backward=2), ...))

`forward` and `backward` are each "im2col" or a Winograd tile m (2 or 4), for a
layer of C input and K output channels on a side x side image; `*_tiles` is the
fewest tiles in one of Winograd's bands (more: larger, more efficient matrix
products; fewer: a working set that stays in cache). A layer of a shape
the plan does not list takes the engine's defaults; one of a listed (C, K) takes
the entry whose side is nearest on a log scale (a 512 px canvas's conv1_2 takes
what was measured at 256). The reference engine has no plan: it is read, not tuned.
"""
import math
from dataclasses import dataclass, field

ALGORITHMS = ("im2col", 2, 4)          # im2col, Winograd F(2x2, 3x3), Winograd F(4x4, 3x3)


@dataclass(frozen=True)
class Conv:
    """The measured choice for one layer shape: C in, K out, on a side x side image, and
    for Winograd the fewest tiles a band may have (the size of its matrix products)."""
    C: int
    K: int
    side: int
    forward: object                    # "im2col", 2 or 4
    backward: object
    forward_tiles: int = 256
    backward_tiles: int = 256


@dataclass(frozen=True)
class Plan:
    """Every speed choice of the fast engine on the CPU (minigrad/fast/engine.py reads it)."""
    threads: int                       # worker threads, each with a one-thread BLAS
    band_bytes: int                    # working set of one band of Winograd or im2col rows
    convs: tuple = field(default=())   # Conv entries, one per measured layer shape

    def __post_init__(self):
        if not (isinstance(self.threads, int) and self.threads >= 1):
            raise ValueError(f"threads must be a whole number >= 1, not {self.threads!r}")
        if not (isinstance(self.band_bytes, int) and self.band_bytes >= 1):
            raise ValueError(f"band_bytes must be a whole number >= 1, not {self.band_bytes!r}")
        for c in self.convs:
            if c.forward not in ALGORITHMS or c.backward not in ALGORITHMS:
                raise ValueError(f"unknown algorithm in {c}: choose from {ALGORITHMS}")

    def conv(self, C, K, side):
        """The entry for a layer of C in, K out channels on a side x side image, or None."""
        same = [c for c in self.convs if (c.C, c.K) == (C, K)]
        if not same:
            return None
        return min(same, key=lambda c: abs(math.log2(c.side) - math.log2(max(side, 1))))

    def to_dict(self):
        return {"threads": self.threads, "band_bytes": self.band_bytes,
                "convs": [[c.C, c.K, c.side, c.forward, c.backward, c.forward_tiles,
                           c.backward_tiles] for c in self.convs]}

    @classmethod
    def from_dict(cls, d):
        """The plan of to_dict's output; ValueError (or KeyError, TypeError) if it is not one."""
        return cls(int(d["threads"]), int(d["band_bytes"]),
                   tuple(Conv(*map(int, entry[:3]), *entry[3:5], *map(int, entry[5:7]))
                         for entry in d["convs"]))

    def table(self):
        """The plan as lines of text, one per layer shape (for `python -m minigrad.fast.tune`)."""
        def name(algorithm, tiles):
            return "im2col" if algorithm == "im2col" else f"F({algorithm}x{algorithm}), {tiles} tiles"
        lines = [f"worker threads: {self.threads}",
                 f"band size: {self.band_bytes / 2**20:g} MB",
                 f"{'in':>5} {'out':>5} {'side':>5}  {'forward':<22} {'image gradient':<22}"]
        for c in sorted(self.convs, key=lambda c: (c.C, c.K, -c.side)):
            lines.append(f"{c.C:>5} {c.K:>5} {c.side:>5}  {name(c.forward, c.forward_tiles):<22} "
                         f"{name(c.backward, c.backward_tiles):<22}")
        return lines
