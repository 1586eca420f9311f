#!/bin/sh
# One device run (see DEVELOPERS.md): the whole test suite on the CuPy backend, a
# stylization on the GPU, then the per-pass benchmark against PyTorch with cuDNN.
export PYTHONPATH=. PYTHONUNBUFFERED=1 CUPY_TF32=0 MINIGRAD_TEST_BACKEND=cupy
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import cupy, torch, numpy; print('cupy', cupy.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__)"
timeout 150 python3 -m pytest -q -p no:cacheprovider -m "not network" \
    tests/test_layers.py tests/test_losses.py tests/test_optim.py tests/test_vgg.py \
    tests/test_images.py tests/test_winograd.py 2>&1 | tee "$OUT/engine_tests.log" | tail -25
timeout 120 python3 benchmarks/bench.py --backend cupy --sizes 512 1024 --repeats 5 2>&1 | tee "$OUT/bench.log"
timeout 150 python3 -m pytest -q -p no:cacheprovider -n 8 -m "not network" tests/ 2>&1 \
    | tee "$OUT/all_tests.log" | tail -8
