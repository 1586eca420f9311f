#!/bin/sh
# One device run (see DEVELOPERS.md), most important first: the per-pass benchmark
# against PyTorch with cuDNN for both 3x3 algorithms, the engine's tests on CuPy,
# a whole stylization against PyTorch's, then the rest of the suite.
export PYTHONPATH=. PYTHONUNBUFFERED=1 CUPY_TF32=0 MINIGRAD_TEST_BACKEND=cupy
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for algo in im2col winograd; do
    timeout 50 python3 benchmarks/bench.py --backend cupy --engine fast --conv3x3 $algo \
        --sizes 512 1024 --repeats 5 2>&1 | tee "$OUT/bench_$algo.log"
done
timeout 90 python3 -m pytest -q -p no:cacheprovider -m "not network" \
    tests/test_layers.py tests/test_losses.py tests/test_optim.py tests/test_vgg.py \
    tests/test_images.py tests/test_winograd.py tests/test_fast.py 2>&1 | tee "$OUT/engine_tests.log" | tail -25
timeout 40 python3 benchmarks/bench.py --backend cupy --engine fast --mode stylize --sizes 512 2>&1 | tee "$OUT/stylize.log"
timeout 70 python3 -m pytest -q -p no:cacheprovider -n 8 -m "not network" tests/ 2>&1 \
    | tee "$OUT/all_tests.log" | tail -6
