from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import lookalike as la
from lookalike.persist._container import _manifest_digest


def test_round_trip_gives_the_same_rows(fitted: la.Synthesizer, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "m.lookalike")
    loaded = la.load(path)
    pd.testing.assert_frame_equal(loaded.sample(700), fitted.sample(700))
    pd.testing.assert_frame_equal(
        loaded.sample(50, conditions={"sex": "Female"}),
        fitted.sample(50, conditions={"sex": "Female"}),
    )
    assert loaded.schema_ == fitted.schema_
    assert loaded.describe()["params"] == fitted.describe()["params"]


def test_file_is_json_and_plain_arrays(fitted: la.Synthesizer, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "m.lookalike")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        arrays = zipfile.ZipFile(io.BytesIO(archive.read("arrays.npz")))
        # Every array is a plain .npy (object arrays would need pickle to load).
        for name in arrays.namelist():
            header = arrays.read(name)[:128]
            assert b"'descr': '|O'" not in header
    assert manifest["class"] == "Synthesizer"
    assert manifest["format_version"] == 1
    assert manifest["schema"]["columns"][0]["name"] == "age"


def test_refuses_to_overwrite(fitted: la.Synthesizer, tmp_path: Path) -> None:
    path = tmp_path / "m.lookalike"
    path.write_text("precious")
    with pytest.raises(la.OutputExistsError):
        fitted.save(path)
    assert path.read_text() == "precious"
    fitted.save(path, force=True)
    assert la.load(path).n_rows_ == fitted.n_rows_


def test_model_file_permissions_follow_the_umask(fitted: la.Synthesizer, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = fitted.save(tmp_path / "m.lookalike")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def _rewrite(
    path: Path, manifest_edit=None, arrays: bytes | None = None, seal: bool = True
) -> None:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        payload = archive.read("arrays.npz")
    if manifest_edit:
        manifest_edit(manifest)
    if seal and "manifest_sha256" in manifest:
        # As a forger would: the deeper checks below must hold on their own.
        manifest["manifest_sha256"] = _manifest_digest(manifest)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("arrays.npz", arrays if arrays is not None else payload)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: p.write_bytes(b"\x00\x01garbage" * 10), "not a lookalike model file"),
        (
            lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
            "not a lookalike model file|corrupt",
        ),
        (lambda p: _rewrite(p, lambda m: m.update(format_version=99)), "newer"),
        (lambda p: _rewrite(p, arrays=b"PK\x03\x04tampered"), "checksum"),
        (lambda p: _rewrite(p, lambda m: m.update({"class": "os.system"})), "unknown model class"),
        (lambda p: _rewrite(p, lambda m: m["statistics"].pop("age")), "corrupt or tampered"),
    ],
)
def test_damaged_files_give_clear_errors(
    fitted: la.Synthesizer, tmp_path: Path, damage, match: str
) -> None:
    path = fitted.save(tmp_path / "m.lookalike")
    damage(path)
    with pytest.raises(la.ModelFileError, match=match):
        la.load(path)


@pytest.mark.parametrize("name", ["model.csv", "model.parquet", "model.csv.gz"])
def test_a_model_is_not_saved_under_a_table_name(
    fitted: la.Synthesizer, tmp_path: Path, name: str
) -> None:
    with pytest.raises(la.ModelFileError, match="named like a table"):
        fitted.save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_hand_edited_manifest_is_refused(fitted: la.Synthesizer, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "m.lookalike")
    renamed = lambda m: m["schema"]["columns"][0].update(name="renamed")  # noqa: E731
    _rewrite(path, renamed, seal=False)
    with pytest.raises(la.ModelFileError, match="manifest does not match its checksum"):
        la.load(path)
    # A file written before manifests carried their own checksum still loads.
    path = fitted.save(tmp_path / "old.lookalike")
    _rewrite(path, lambda m: m.pop("manifest_sha256"), seal=False)
    pd.testing.assert_frame_equal(la.load(path).sample(50), fitted.sample(50))


def test_the_same_model_saved_twice_gives_the_same_bytes(
    fitted: la.Synthesizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = fitted.save(tmp_path / "a.lookalike")
    # Zip entries are dated from the clock: a later save must not change a byte.
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    second = fitted.save(tmp_path / "b.lookalike")
    assert first.read_bytes() == second.read_bytes()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(la.ModelFileError, match="does not exist"):
        la.load(tmp_path / "nope.lookalike")


def test_a_file_from_before_calibration_loads_as_uncalibrated(
    fitted: la.Synthesizer, tmp_path: Path
) -> None:
    path = fitted.save(tmp_path / "m.lookalike")
    _rewrite(path, lambda m: m["params"].pop("calibrate"))
    loaded = la.load(path)
    assert fitted.calibrate is True
    assert loaded.calibrate is False
    # The leaves are the file's either way: the parameter only says how they were made.
    pd.testing.assert_frame_equal(loaded.sample(300), fitted.sample(300))


def test_column_order_survives_save_and_load(adult_small: pd.DataFrame, tmp_path: Path) -> None:
    model = la.Synthesizer(random_state=5, column_order="cardinality").fit(adult_small)
    loaded = la.load(model.save(tmp_path / "m.lookalike"))
    pd.testing.assert_frame_equal(loaded.sample(300), model.sample(300))
    conditioned = loaded.sample(200, conditions={"age": 50, "relationship": "Wife"})
    assert (conditioned["relationship"] == "Wife").all()
    assert (conditioned["sex"] == "Female").mean() > 0.95
    with pytest.raises(ValueError, match="'column_order' parameter"):
        la.Synthesizer(column_order="random").fit(adult_small)


def test_a_leaf_pointing_elsewhere_is_refused(fitted: la.Synthesizer, tmp_path: Path) -> None:
    """A tampered tree whose leaves point to a far node must not load (it would hang sampling)."""
    import hashlib

    import numpy as np

    path = fitted.save(tmp_path / "m.lookalike")
    from lookalike.persist import read_artifact

    artifact = read_artifact(path)
    left = artifact.arrays["ordered1.0.left"].copy()
    left[left < 0] = -(10**9)
    arrays = {**artifact.arrays, "ordered1.0.left": left}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    manifest = {**artifact.manifest, "arrays_sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("arrays.npz", buffer.getvalue())
    with pytest.raises(la.ModelFileError, match="a leaf has a child"):
        la.load(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(seed_entropy="-5"),
        lambda m: m["schema"]["columns"][0].update(decimals="x"),
        lambda m: m["schema"]["columns"][1].update(datetime_format=5),
        lambda m: m.update(schema=[]),
    ],
)
def test_edited_manifest_fields_fail_at_load(fitted: la.Synthesizer, tmp_path: Path, edit) -> None:
    path = fitted.save(tmp_path / "m.lookalike")
    _rewrite(path, edit)
    with pytest.raises(la.ModelFileError, match="corrupt or tampered"):
        la.load(path)
