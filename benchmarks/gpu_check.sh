#!/bin/sh
# One device run: the engine's tests on CuPy, then the per-pass benchmark against cuDNN.
export PYTHONPATH=. CUPY_TF32=0 MINIGRAD_TEST_BACKEND=cupy
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -m pytest -x -q -p no:cacheprovider tests/test_winograd.py tests/test_layers.py 2>&1 | tail -4
python3 benchmarks/bench.py --backend cupy --sizes 512 1024 --repeats 5
python3 benchmarks/profile_layers.py --backend cupy --size 512 --repeats 5
