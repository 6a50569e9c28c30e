"""The differentially private Synthesizer: fit, sample, save/load, its ledger, and the CLI."""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

import lookalike as la
from lookalike.cli import app
from lookalike.privacy import fixed_noise

EPSILON = 1.0


@pytest.fixture(scope="module")
def table(adult_small: pd.DataFrame) -> pd.DataFrame:
    return adult_small.head(2000).reset_index(drop=True)


@pytest.fixture(scope="module")
def private(table: pd.DataFrame) -> la.Synthesizer:
    return la.Synthesizer(epsilon=EPSILON, random_state=5).fit(table)


def test_sample_has_the_columns_and_kinds_of_the_table(table: pd.DataFrame) -> None:
    # A fixed noise stream: with OS noise about one fit in fifty misses these coarse bounds on
    # 2,000 rows at epsilon 1, and a test that fails at random protects nothing.
    with fixed_noise(11):
        out = la.Synthesizer(epsilon=EPSILON, random_state=5).fit(table).sample(3000)
    assert list(out.columns) == list(table.columns)
    assert len(out) == 3000
    for column in table.columns:
        numeric = pd.api.types.is_numeric_dtype(table[column])
        assert pd.api.types.is_numeric_dtype(out[column]) == numeric, column
    # Coarse statistics survive the noise at epsilon 1 on 2,000 rows.
    assert abs(out["age"].mean() - table["age"].mean()) < 5
    real = table["sex"].value_counts(normalize=True)
    synth = out["sex"].value_counts(normalize=True)
    assert 0.5 * real.sub(synth, fill_value=0).abs().sum() < 0.15


def test_describe_carries_the_ledger_within_budget(private: la.Synthesizer) -> None:
    described = private.describe()
    section = described["privacy"]["differential_privacy"]
    ledger = section["ledger"]
    assert section["epsilon"] <= EPSILON * (1 + 1e-9)
    assert section["delta"] <= 1e-9
    assert not section["guarantee_void_test_only_fixed_noise"]
    assert ledger["rho_spent"] == pytest.approx(sum(s["rho"] for s in ledger["steps"]))
    assert ledger["rho_spent"] <= ledger["budget"]["rho"] * (1 + 1e-9)
    steps = {s["step"] for s in ledger["steps"]}
    # Every step that touches data is in the ledger: ranges, bins, categories, structure, tables.
    assert {"range age", "bins age", "categories workclass", "1-way workclass"} <= steps
    assert any(s.startswith("select edge") for s in steps)
    assert any(s.startswith("2-way") for s in steps)
    gaussian = [s for s in ledger["steps"] if s["mechanism"] == "gaussian"]
    assert all(s["parameters"]["sigma"] > 0 for s in gaussian)
    json.dumps(described)
    # The row count is released only as a noisy estimate.
    assert abs(described["n_rows_trained"] - 2000) < 500


def test_save_load_round_trip_keeps_rows_and_ledger(
    private: la.Synthesizer, tmp_path: Path
) -> None:
    path = private.save(tmp_path / "private.lookalike")
    loaded = la.load(path)
    pd.testing.assert_frame_equal(loaded.sample(500), private.sample(500))
    pd.testing.assert_frame_equal(
        loaded.sample(200, random_state=9), private.sample(200, random_state=9)
    )
    assert loaded.describe()["privacy"] == private.describe()["privacy"]
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert not any(name.endswith((".pkl", ".pickle")) for name in archive.namelist())
    assert manifest["differential_privacy"]["ledger"]["steps"]


def test_a_tampered_private_model_does_not_load(private: la.Synthesizer, tmp_path: Path) -> None:
    from lookalike.persist import Artifact, read_artifact, write_artifact

    artifact = read_artifact(private.save(tmp_path / "ok.lookalike"))
    manifest = json.loads(json.dumps(artifact.manifest))
    manifest["differential_privacy"]["ledger"]["steps"][0]["rho"] = 100.0
    write_artifact(tmp_path / "bad.lookalike", Artifact(manifest, artifact.arrays))
    with pytest.raises(la.ModelFileError):
        la.load(tmp_path / "bad.lookalike")


def test_same_seed_same_rows_but_noise_is_never_seeded(table: pd.DataFrame) -> None:
    small = table.head(500)
    a = la.Synthesizer(epsilon=2.0, random_state=1).fit(small)
    b = la.Synthesizer(epsilon=2.0, random_state=1).fit(small)
    pd.testing.assert_frame_equal(a.sample(100), a.sample(100))
    # The same random_state does not fix the privacy noise: the two models differ.
    assert not a.sample(300).equals(b.sample(300))
    with fixed_noise(4):
        c = la.Synthesizer(epsilon=2.0, random_state=1).fit(small)
    with fixed_noise(4):
        d = la.Synthesizer(epsilon=2.0, random_state=1).fit(small)
    pd.testing.assert_frame_equal(c.sample(300), d.sample(300))
    assert c.describe()["privacy"]["differential_privacy"]["guarantee_void_test_only_fixed_noise"]


def test_rare_labels_and_extreme_values_do_not_leak(table: pd.DataFrame) -> None:
    planted = table.head(1500).copy()
    planted.loc[0, "native_country"] = "Atlantis-0001"
    planted.loc[1, "age"] = 10_000
    model = la.Synthesizer(epsilon=8.0, random_state=2).fit(planted)
    out = model.sample(5000)
    assert "Atlantis-0001" not in set(out["native_country"].dropna())
    assert out["age"].max() < 1_000


def test_infinities_count_as_missing_and_the_table_is_left_alone() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(50.0, 10.0, 4000)
    values[:400] = np.inf
    values[400:800] = -np.inf
    table = pd.DataFrame({"x": values, "g": rng.choice(["a", "b"], 4000)})
    before = table.copy()
    with fixed_noise(3):
        out = la.Synthesizer(epsilon=4.0, random_state=1).fit(table).sample(4000)
    pd.testing.assert_frame_equal(table, before)
    # 20 % of the rows were infinite: they come back as missing, never as huge numbers.
    assert abs(out["x"].isna().mean() - 0.2) < 0.05
    assert out["x"].dropna().between(0, 100).all()


def test_public_bounds_and_categories_come_from_the_overrides(table: pd.DataFrame) -> None:
    overrides = {
        "age": {"bounds": [20, 60]},
        "race": {"kind": "categorical", "categories": ["White", "Black"]},
    }
    model = la.Synthesizer(epsilon=2.0, random_state=3).fit(table, schema=overrides)
    out = model.sample(2000)
    ages = out["age"].dropna()
    assert ages.min() >= 20 and ages.max() <= 60
    assert set(out["race"].dropna()) <= {"White", "Black", "_RARE_"}
    steps = {
        s["step"] for s in model.describe()["privacy"]["differential_privacy"]["ledger"]["steps"]
    }
    assert "range age" not in steps and "categories race" not in steps
    # A fixed value far beyond the public bounds is written as asked, with a warning.
    with pytest.warns(la.DataWarning, match=r"'age': 500 lies outside .*\(20 to 60\)"):
        assert (model.sample(5, conditions={"age": 500})["age"] == 500).all()


def test_a_column_declared_complete_never_comes_out_missing(tmp_path: Path) -> None:
    # At epsilon 0.05 on 300 rows the released ranges and categories are mostly noise: values
    # outside a range count as missing and a column with no category found keeps only its rare
    # and missing tokens, so undeclared columns often come out largely missing (each fit draws
    # fresh OS noise). Declared complete, never.
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 50, n),
            "c": rng.choice(["x", "y", "z"], n),
            "d": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "f": rng.normal(size=n),
        }
    )
    declared = {name: {"complete": True} for name in df}
    for _ in range(20):
        model = la.Synthesizer(epsilon=0.05).fit(df, schema=declared, progress=False)
        out = model.sample(2000)
        assert out.notna().all().all()
        assert out["a"].dtype == np.int64
    # The declaration wins over the data: missing values it holds are not drawn either.
    df.loc[::3, ["a", "c", "d", "f"]] = None
    undeclared = la.Synthesizer(epsilon=1.0).fit(df, progress=False).sample(2000)
    assert (undeclared.isna().mean() > 0.05).any()  # a third of the rows, read through noise
    model = la.Synthesizer(epsilon=1.0).fit(df, schema=declared, progress=False)
    assert model.sample(2000).notna().all().all()
    path = tmp_path / "complete.lookalike"
    model.save(path)
    loaded = la.load(path)
    assert all(column.complete for column in loaded.dp_model_.columns)
    assert loaded.sample(2000).notna().all().all()
    with pytest.raises(la.SchemaError, match="'complete' must be true or false"):
        la.Synthesizer(epsilon=1.0).fit(df, schema={"a": {"complete": "yes"}}, progress=False)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"epsilon": -1.0}, "'epsilon' parameter of Synthesizer must be None or a float > 0"),
        ({"epsilon": "1"}, "'epsilon'"),
        ({"epsilon": float("inf")}, "'epsilon'"),
        ({"epsilon": 1.0, "delta": 1.5}, "'delta' parameter of Synthesizer must be"),
        ({"delta": 1e-6}, "set 'epsilon' too"),
    ],
)
def test_bad_privacy_parameters_are_named(
    params: dict[str, object], fragment: str, table: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match=fragment):
        la.Synthesizer(**params).fit(table.head(50))  # type: ignore[arg-type]


def test_bad_domains_and_conditions_are_refused(
    private: la.Synthesizer, table: pd.DataFrame
) -> None:
    with pytest.raises(la.SchemaError, match="'bounds'"):
        la.Synthesizer(epsilon=1.0).fit(table.head(50), schema={"sex": {"bounds": [0, 1]}})
    with pytest.raises(la.SchemaError, match="low <= high"):
        la.Synthesizer(epsilon=1.0).fit(table.head(50), schema={"age": {"bounds": [9, 1]}})
    with pytest.raises(la.ConditionError, match="set of values on the numeric column 'age'"):
        private.sample(10, conditions={"age": [30, 40]})
    with pytest.raises(la.ConditionError, match="holds none of the values"):
        private.sample(10, conditions={"age": (500, 600)})
    with pytest.raises(la.ConditionError, match="a mean of 500 is impossible"):
        private.sample(10, shift={"age": {"mean": 500}})
    with pytest.raises(la.ConditionError, match="the private model bins 'fnlwgt'"):
        private.sample(10, rebalance={"fnlwgt": {200_000: 0.5}})
    with pytest.raises(la.ConditionError, match="the private model bins 'fnlwgt'"):
        private.sample(10, parity={"target": "income", "sensitive": ["fnlwgt"]})
    with pytest.raises(la.ConditionError, match=r"cannot take the value 9\.5"):
        private.sample(10, rebalance={"education_num": {9.5: 0.5}})
    with pytest.raises(la.ConditionError, match="in both rebalance and shift"):
        private.sample(10, rebalance={"sex": {"Male": 0.5}}, shift={"sex": {"Male": 0.4}})
    with pytest.raises(la.ConditionError, match="appear both in conditions and in rebalance"):
        private.sample(10, conditions={"sex": "Male"}, rebalance={"sex": {"Male": 0.5}})
    with pytest.raises(la.ConditionError, match=r"the shares sum to 1\.2 > 1"):
        private.sample(10, rebalance={"sex": {"Male": 0.6, "Female": 0.6}})
    with pytest.raises(la.ConditionError, match="cannot take the value 'Martian'"):
        private.sample(10, conditions={"sex": "Martian"})
    with pytest.raises(la.ConditionError, match="takes a number"):
        private.sample(10, conditions={"age": "old"})
    with pytest.raises(la.ConditionError, match="unknown column"):
        private.sample(10, conditions={"nope": 1})


def test_a_refit_without_epsilon_gives_the_default_model(table: pd.DataFrame) -> None:
    model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table.head(300))
    model.set_params = None  # type: ignore[attr-defined]  # estimators are re-configured by attribute
    model.epsilon = None
    model.fit(table.head(300))
    assert model.describe()["privacy"]["differential_privacy"] is None


def test_cli_fits_with_epsilon_and_inspect_prints_the_ledger(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    data = tmp_path / "table.csv"
    table.head(800).to_csv(data, index=False)
    model = tmp_path / "model.lookalike"
    runner = CliRunner()
    fitted = runner.invoke(
        app, ["fit", str(data), "-o", str(model), "--epsilon", "1", "--delta", "1e-8"]
    )
    assert fitted.exit_code == 0, fitted.output
    shown = runner.invoke(app, ["inspect", str(model)])
    assert shown.exit_code == 0, shown.output
    assert "Differential privacy" in shown.stdout
    assert "Privacy ledger" in shown.stdout
    assert "trained on about" in shown.stdout and "noisy count" in shown.stdout
    assert "2-way" in shown.stdout and "gaussian" in shown.stdout
    # Piped, every ledger step is one line, as the schema's rows are (Rich assumed 80 columns).
    workclass = [line for line in shown.stdout.splitlines() if "categories workclass" in line]
    assert len(workclass) == 1 and "gaussian-threshold" in workclass[0]
    assert "threshold=" in workclass[0]
    bad = runner.invoke(
        app, ["fit", str(data), "-o", str(tmp_path / "x.lookalike"), "--epsilon", "-2"]
    )
    assert bad.exit_code == 2  # a usage error, refused before reading the data
    assert "epsilon" in bad.stderr


def test_the_report_prints_the_guarantee_and_ledger_of_the_model(
    private: la.Synthesizer, table: pd.DataFrame, tmp_path: Path
) -> None:
    synth = private.sample(500, random_state=1)
    result = la.evaluate(table.head(500), synth, model=private, max_rows=500)
    guarantee = result.guarantee
    assert guarantee is not None and guarantee.verdict.rating == "good"
    ledger = private.describe()["privacy"]["differential_privacy"]["ledger"]
    assert guarantee.epsilon == pytest.approx(EPSILON)
    assert guarantee.rho_spent == pytest.approx(ledger["rho_spent"])
    assert [s.step for s in guarantee.steps] == [s["step"] for s in ledger["steps"]]
    assert sum(s.rho for s in guarantee.steps) == pytest.approx(guarantee.rho_spent)
    html = result.to_html()
    assert 'id="guarantee"' in html and guarantee.steps[-1].step in html
    # The summary's cards include the guarantee, next to fidelity and privacy.
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert '<div class="name">Guarantee</div>' in summary
    assert la.EvaluationResult.from_dict(json.loads(result.to_json())) == result
    # On the command line: lookalike report ... --model.
    paths = [tmp_path / "real.csv", tmp_path / "synth.csv"]
    table.head(500).to_csv(paths[0], index=False)
    synth.to_csv(paths[1], index=False)
    model = tmp_path / "m.lookalike"
    private.save(model)
    out = CliRunner().invoke(
        app, ["report", *map(str, paths), "--model", str(model), "-o", str(tmp_path / "r.html")]
    )
    assert out.exit_code == 0, out.output
    assert "differentially private" in out.stdout
    assert "Privacy ledger" not in out.stdout  # the ledger is in the page, not the console
    assert guarantee.steps[0].step in (tmp_path / "r.html").read_text(encoding="utf-8")
    # A model of another table is refused, not reported as this one's guarantee.
    other = tmp_path / "other.csv"
    table.head(500).drop(columns=["age"]).assign(extra=1).to_csv(other, index=False)
    refused = CliRunner().invoke(
        app,
        ["report", str(other), str(other), "--model", str(model), "-o", str(tmp_path / "x.html")],
    )
    assert refused.exit_code != 0 and not (tmp_path / "x.html").exists()
    assert "lacks its column(s) ['age']" in refused.output
    assert "has column(s) ['extra'] it never saw" in refused.output


def test_the_default_model_claims_no_guarantee_and_lists_its_protections(
    table: pd.DataFrame,
) -> None:
    model = la.Synthesizer(random_state=0).fit(table.head(600))
    result = la.evaluate(table.head(600), model.sample(300), model=model, max_rows=300)
    assert result.guarantee is not None and result.guarantee.epsilon is None
    assert result.guarantee.verdict.rating == "not measured"
    assert any("_RARE_" in p for p in result.guarantee.protections)
    with pytest.raises(la.DataError, match="'model' parameter must be a fitted"):
        la.evaluate(table.head(100), table.head(100), model="model.lookalike")


def test_every_step_costs_what_its_noise_says_and_the_plan_spends_the_budget(
    private: la.Synthesizer,
) -> None:
    ledger = private.describe()["privacy"]["differential_privacy"]["ledger"]
    # The split is made up front and every share is spent: nothing is left, nothing is over.
    assert ledger["rho_spent"] == pytest.approx(ledger["budget"]["rho"], rel=1e-9)
    for step in ledger["steps"]:
        parameters = step["parameters"]
        if step["mechanism"] in ("gaussian", "gaussian-threshold"):
            # rho = D^2 / (2 sigma^2) with sensitivity D = 1 (one row moves one count by 1)
            assert step["rho"] == pytest.approx(1 / (2 * parameters["sigma"] ** 2), rel=1e-9)
        else:
            assert step["mechanism"] == "exponential"
            assert step["rho"] == pytest.approx(parameters["epsilon"] ** 2 / 8, rel=1e-9)
    # Discovery is the only step that spends delta, and within the share reserved for it.
    spent = sum(s["delta"] for s in ledger["steps"])
    assert spent == pytest.approx(ledger["delta_spent"])
    assert spent <= ledger["budget"]["delta_reserved"] * (1 + 1e-9)
    assert all(s["delta"] == 0 for s in ledger["steps"] if s["mechanism"] != "gaussian-threshold")


def test_discovered_counts_are_combined_with_the_one_way_measurement() -> None:
    from lookalike.models._dp import _MISSING_KEY, PrivateColumn, _fuse_discovery

    column = PrivateColumn("c", "categorical", ("a", "b"), has_rare=True)  # a, b, rare, missing
    noisy = np.array([100.0, 50.0, 10.0, 4.0])
    variance = np.full(4, 4.0)
    found = {"a": 110.0, "b": 40.0, _MISSING_KEY: 0.0}
    combined, combined_variance = _fuse_discovery(column, noisy, variance, found, found_sd=1.0)
    # Inverse-variance weights 1/4 and 1/1: (x / 4 + y) / (1 / 4 + 1) = (x + 4 y) / 5.
    np.testing.assert_allclose(combined, [(100 + 440) / 5, (50 + 160) / 5, 10.0, 4 / 5])
    np.testing.assert_allclose(combined_variance, [0.8, 0.8, 4.0, 0.8])


def test_discovery_releases_the_missing_count_and_frequent_labels_only() -> None:
    from lookalike.models._dp import _MISSING_KEY, _label_domain
    from lookalike.privacy import PrivacyBudget, PrivacyLedger

    series = pd.Series(["x"] * 900 + ["y"] * 600 + ["z"] * 2 + [None] * 300)
    spec = la.infer_schema(pd.DataFrame({"c": series}))["c"]
    ledger = PrivacyLedger(PrivacyBudget.from_epsilon_delta(4.0, 1e-9, delta_reserved=5e-10))
    with fixed_noise(0):
        column, found, sd, ledger = _label_domain(
            ledger, spec, series, {}, {"categories c": 0.05}, delta=5e-10
        )
    assert column.categories == ("x", "y")
    assert set(found) == {"x", "y", _MISSING_KEY}
    assert sd == pytest.approx(1 / math.sqrt(2 * 0.05))
    assert abs(found[_MISSING_KEY] - 300) < 6 * sd
    assert ledger.entries[-1].delta == 5e-10


def test_a_bin_whose_counts_are_a_line_plus_noise_is_drawn_from_the_line() -> None:
    from lookalike.models._dp import _straight_line

    values = np.arange(10.0, 20.0)  # integer point cells 10..19
    line = 100.0 + 10.0 * (values - 10)
    noise = np.array([3.0, -2.0, 1.0, -4.0, 2.0, 0.0, -1.0, 3.0, -2.0, 1.0])
    fitted = _straight_line(line + noise, values, values, integer=True, sigma=3.0)
    assert fitted is not None
    # Least squares recovers the line far better than the noisy counts are: within 2 of it.
    np.testing.assert_allclose(fitted, line, atol=2.0)
    # A spike no noise of that scale explains keeps the bin's own counts.
    spiked = line + noise
    spiked[4] += 400.0
    assert _straight_line(spiked, values, values, integer=True, sigma=3.0) is None
    # Wider cells hold proportionally more: a flat density over widths 1, 2, 3 is 1:2:3.
    flat = _straight_line(
        np.array([10.0, 20.0, 30.0]),
        np.array([0.0, 1.0, 3.0]),
        np.array([1.0, 3.0, 6.0]),
        integer=False,
        sigma=1.0,
    )
    assert flat is not None
    np.testing.assert_allclose(flat / flat.sum(), [1 / 6, 2 / 6, 3 / 6], atol=1e-9)


def test_a_public_codebook_spends_the_discovery_share_on_the_one_way_marginals() -> None:
    from lookalike.models._dp import _fine_cells, _plan_weights

    table = pd.DataFrame({"c": ["a", "b"] * 50, "x": np.arange(100)})
    schema = la.infer_schema(table)
    modelled = list(schema)
    private = _plan_weights(modelled, {}, ["c"])
    public = _plan_weights(
        modelled, {"c": {"categories": ["a", "b"]}, "x": {"bounds": [0, 99]}}, []
    )
    # Nothing is spent on the domain; the 1-way steps get all of it, and the split as a whole
    # weighs the same.
    assert sum(private.values()) == pytest.approx(sum(public.values()))
    assert public["1-way c"] + public["bins x"] == pytest.approx(
        private["1-way c"] + private["categories c"] + private["bins x"] + private["range x"]
    )
    assert "categories c" not in public and "range x" not in public
    # ... shared in proportion to the square root of each marginal's cells (public): 100
    # integer cells and missing for x; a, b, rare and missing for c.
    assert len(_fine_cells(0, 99, integer=True)[0]) == 100
    assert public["bins x"] / public["1-way c"] == pytest.approx(math.sqrt(101 / 4))


def _xor_table(n: int = 20_000) -> pd.DataFrame:
    """``c`` is ``a`` xor ``b``: every pair of columns is independent, the triple is not."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2, n)
    b = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "a": np.where(a == 1, "x", "y"),
            "b": np.where(b == 1, "x", "y"),
            "c": np.where(a != b, "x", "y"),
        }
    )


def _xor_share(frame: pd.DataFrame) -> float:
    return float(((frame["a"] != frame["b"]) == (frame["c"] == "x")).mean())


def test_coarse_parents_hold_structure_that_no_tree_of_pairs_can(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lookalike.models._dp as dp

    table = _xor_table()
    with fixed_noise(2):
        model = la.Synthesizer(epsilon=20.0, random_state=0).fit(table)
    assert _xor_share(table) == 1.0
    assert _xor_share(model.sample(5000)) > 0.95
    section = model.describe()["privacy"]["differential_privacy"]
    assert section["coarse_parents"]
    ledger = section["ledger"]
    triples = [s for s in ledger["steps"] if s["step"].startswith("3-way")]
    assert triples
    # The triples are paid for like every other step, and the whole budget is spent, not more.
    for step in triples:
        assert step["rho"] == pytest.approx(1 / (2 * step["parameters"]["sigma"] ** 2), rel=1e-9)
    assert ledger["rho_spent"] == pytest.approx(ledger["budget"]["rho"], rel=1e-9)
    # The same fit with the tree alone: each column is drawn given one other, so the xor is lost.
    monkeypatch.setattr(dp, "_COARSE_PARENTS", 0)
    with fixed_noise(2):
        tree = la.Synthesizer(epsilon=20.0, random_state=0).fit(table)
    assert not tree.describe()["privacy"]["differential_privacy"]["coarse_parents"]
    assert abs(_xor_share(tree.sample(5000)) - 0.5) < 0.05


def test_a_model_with_coarse_parents_round_trips_and_refuses_a_bad_factor(
    tmp_path: Path,
) -> None:
    with fixed_noise(2):
        model = la.Synthesizer(epsilon=20.0, random_state=0).fit(_xor_table())
    loaded = la.load(model.save(tmp_path / "xor.lookalike"))
    pd.testing.assert_frame_equal(loaded.sample(2000), model.sample(2000))
    _assert_refused_negated(tmp_path / "xor.lookalike", lambda k: k.startswith("dp.factor"))


def _assert_refused_negated(path: Path, picks: Callable[[str], bool]) -> None:
    """A saved model with the first array ``picks`` names negated does not load."""
    from lookalike.persist import Artifact, read_artifact, write_artifact

    artifact = read_artifact(path)
    arrays = dict(artifact.arrays)
    name = next(k for k in arrays if picks(k))
    arrays[name] = -arrays[name]
    write_artifact(path.with_name("bad.lookalike"), Artifact(artifact.manifest, arrays))
    with pytest.raises(la.ModelFileError):
        la.load(path.with_name("bad.lookalike"))


def test_a_private_fit_reports_its_progress_per_column_and_stage() -> None:
    from lookalike.models._dp import fit_private_model

    table = _xor_table(5_000)
    seen: list[tuple[str, int]] = []
    with fixed_noise(2):
        fit_private_model(
            table,
            la.infer_schema(table),
            epsilon=20.0,
            delta=None,
            on_step=lambda stage, total: seen.append((stage, total)),
        )
    assert seen.count(("Measuring columns", 3)) == 3
    assert seen.count(("Choosing more parents", 3)) == 3
    # The Synthesizer draws them as bars (nothing is drawn when stderr is not a terminal).
    la.Synthesizer(epsilon=20.0, random_state=0).fit(table, progress=True)


def _tvd(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.value_counts(normalize=True), b.value_counts(normalize=True)
    return float(0.5 * pa.sub(pb, fill_value=0).abs().sum())


def _tvd_noise(a: pd.Series, b: pd.Series) -> float:
    """Expected TVD between two independent samples of one distribution (normal approximation)."""
    p = pd.concat([a, b]).value_counts(normalize=True).to_numpy()
    return float(0.5 * np.sum(np.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)) * 2 / np.pi)))


def test_fixed_values_reweigh_the_columns_drawn_before_them() -> None:
    # c = a xor b lives in c's coarse parents only; fixing c must change the joint of a and b,
    # which are drawn before it: clamping c without weights would leave a != b in half the rows.
    with fixed_noise(2):
        model = la.Synthesizer(epsilon=20.0, random_state=0).fit(_xor_table())
    out = model.sample(4000, conditions={"c": "x"}, random_state=1)
    assert (out["c"] == "x").all()
    assert (out["a"] != out["b"]).mean() > 0.95
    both = model.sample(2000, conditions={"a": "x", "c": "x"}, random_state=2)
    assert (both["b"] == "y").mean() > 0.95


def test_fixed_values_give_the_models_conditional_distribution(table: pd.DataFrame) -> None:
    with fixed_noise(7):
        model = la.Synthesizer(epsilon=4.0, random_state=3).fit(table)
    dp_model = model.dp_model_
    plain = model.sample(300_000, random_state=1)
    # Fix the column drawn last (of those with a second value frequent enough to compare on):
    # every other column must be reweighed by its value.
    drawn = [dp_model.columns[dp_model.nodes[i]].name for i in dp_model.order]
    counts = {c: plain[c].value_counts() for c in drawn}
    last = next(c for c in reversed(drawn) if len(counts[c]) > 1 and counts[c].iloc[1] > 30_000)
    value = plain[last].value_counts().index[1]
    out = model.sample(20_000, conditions={last: value}, random_state=2)
    assert (out[last] == value).all()
    reference = plain[plain[last] == value]
    assert len(reference) > 10_000
    moved = 0
    for column in ("workclass", "education", "marital_status", "relationship", "race", "sex"):
        if column == last:
            continue
        # Four times the expected noise of two independent samples of these sizes.
        tolerance = 4 * _tvd_noise(out[column], reference[column])
        assert _tvd(out[column], reference[column]) < tolerance, column
        moved += _tvd(reference[column], plain[column]) > tolerance
    assert moved  # the condition changed some column's distribution, so the check has teeth
    assert out["age"].mean() == pytest.approx(reference["age"].mean(), abs=1.0)


def test_sets_and_ranges_give_the_models_conditional_distribution(table: pd.DataFrame) -> None:
    with fixed_noise(7):
        model = la.Synthesizer(epsilon=4.0, random_state=3).fit(table)
    plain = model.sample(300_000, random_state=1)
    wanted = {"Married-civ-spouse", "Divorced"}
    conditions = {"marital_status": wanted, "age": (30.5, 44), "hours_per_week": "20..40"}
    out, report = model.sample_with_report(20_000, conditions=conditions, random_state=2)
    assert set(out["marital_status"]) <= wanted
    assert out["age"].between(31, 44).all() and out["hours_per_week"].between(20, 40).all()
    assert [t.achieved for t in report.targets] == [1.0, 1.0, 1.0]
    reference = plain[
        plain["marital_status"].isin(wanted)
        & plain["age"].between(30.5, 44)
        & plain["hours_per_week"].between(20, 40)
    ]
    assert len(reference) > 10_000
    for column in ("marital_status", "education", "relationship", "sex", "income", "age"):
        # Four times the expected noise of two independent samples of these sizes.
        tolerance = 4 * _tvd_noise(out[column], reference[column])
        assert _tvd(out[column], reference[column]) < tolerance, column
    # Inside the range, values keep the model's spread (not piled onto its ends).
    assert out["hours_per_week"].mean() == pytest.approx(
        reference["hours_per_week"].mean(), abs=0.5
    )


def test_rebalance_reaches_its_shares_and_keeps_each_cell_of_the_model(
    table: pd.DataFrame,
) -> None:
    with fixed_noise(7):
        model = la.Synthesizer(epsilon=4.0, random_state=3).fit(table)
    plain = model.sample(300_000, random_state=1)
    rebalance = {"income": {">50K": 0.5}, "sex": {"Female": 0.5}}
    out, report = model.sample_with_report(20_000, rebalance=rebalance, random_state=2)
    assert (out["income"] == ">50K").mean() == pytest.approx(0.5, abs=1e-3)
    assert (out["sex"] == "Female").mean() == pytest.approx(0.5, abs=1e-3)
    assert report.max_abs_difference < 1e-3
    model_shares = [t.model for t in report.targets]
    assert model_shares[0] == pytest.approx((plain["income"] == ">50K").mean(), abs=0.01)
    # Raking keeps the model's association between the two columns (their odds ratio).
    log_odds = []
    for frame in (out, plain):
        counts = pd.crosstab(frame["income"] == ">50K", frame["sex"] == "Female").to_numpy()
        log_odds.append(
            (np.log(counts[0, 0] * counts[1, 1] / (counts[0, 1] * counts[1, 0])), counts)
        )
    standard_error = np.sqrt((1 / log_odds[0][1]).sum() + (1 / log_odds[1][1]).sum())
    assert abs(log_odds[0][0] - log_odds[1][0]) < 4 * standard_error
    # Within each cell of the rebalanced columns the rows are the model's given that cell.
    for (income, sex), cell in out.groupby(["income", "sex"]):
        reference = plain[(plain["income"] == income) & (plain["sex"] == sex)]
        for column in ("education", "relationship", "race"):
            tolerance = 4 * _tvd_noise(cell[column], reference[column])
            assert _tvd(cell[column], reference[column]) < tolerance, (income, sex, column)


def test_parity_and_a_shifted_distribution_on_a_private_model(table: pd.DataFrame) -> None:
    with fixed_noise(7):
        model = la.Synthesizer(epsilon=4.0, random_state=3).fit(table)
    plain = model.sample(300_000, random_state=1)
    parity = {"target": "income", "sensitive": ["sex"]}
    out, report = model.sample_with_report(20_000, parity=parity, random_state=2)
    rates = pd.crosstab(out["sex"], out["income"], normalize="index")
    assert abs(rates.iloc[0] - rates.iloc[1]).max() < 2e-3
    (gap,) = report.targets
    assert gap.achieved < 2e-3
    before = pd.crosstab(plain["sex"], plain["income"], normalize="index")
    assert gap.model == pytest.approx(float(abs(before.iloc[0] - before.iloc[1]).max()), abs=0.02)
    assert gap.model > 0.05  # the model's own gap, which parity removed
    assert gap.note is None  # both groups reachable: nothing to say
    # A parity note would name groups by the private model's own categories.
    from lookalike.models._dp import category_label

    labels = [category_label(model.dp_model_, model.schema_, "sex", t) for t in range(3)]
    assert set(labels[:2]) == set(table["sex"].dropna()) and labels[2] in ("missing", "_RARE_")
    # Within each cell the rows are the model's given the cell.
    for (income, sex), cell in out.groupby(["income", "sex"]):
        reference = plain[(plain["income"] == income) & (plain["sex"] == sex)]
        tolerance = 4 * _tvd_noise(cell["education"], reference["education"])
        assert _tvd(cell["education"], reference["education"]) < tolerance, (income, sex)
    shifted = model.sample(
        5000, shift={"sex": {"distribution": {"Female": 0.7, "Male": 0.3}}}, random_state=3
    )
    assert (shifted["sex"] == "Female").mean() == pytest.approx(0.7, abs=1e-3)
    # An older population with more high earners: a mean and a share at once.
    older, report = model.sample_with_report(
        20_000,
        shift={"age": {"mean": "+8"}},
        rebalance={"income": {">50K": 0.5}},
        random_state=4,
    )
    asked = {t.quantity: t for t in report.targets}
    assert asked["mean"].asked == pytest.approx(plain["age"].mean() + 8, abs=0.5)
    assert older["age"].mean() == pytest.approx(asked["mean"].asked, abs=0.5)
    assert (older["income"] == ">50K").mean() == pytest.approx(0.5, abs=1e-3)
    median = model.sample(20_000, shift={"hours_per_week": {"quantiles": {0.5: 45}}})
    # A number with a cell per value takes shares like a category.
    graduates = model.sample(5000, rebalance={"education_num": {13: 0.4}}, random_state=5)
    assert (graduates["education_num"] == 13).mean() == pytest.approx(0.4, abs=1e-3)
    # Half the rows at most 45 (the median itself may fall halfway to the next value drawn).
    assert (median["hours_per_week"] <= 45).mean() == pytest.approx(0.5, abs=0.01)


def test_seed_rows_and_exact_numbers_on_a_private_model(
    private: la.Synthesizer, tmp_path: Path
) -> None:
    seeds = pd.DataFrame({"sex": ["Female", None, "Male"], "age": [37, 52, None]})
    out = private.sample(conditions=seeds, random_state=0)
    assert len(out) == 3
    assert out.loc[[0, 2], "sex"].tolist() == ["Female", "Male"]
    assert out.loc[[0, 1], "age"].tolist() == [37, 52]
    rows, report = private.sample_with_report(500, conditions={"age": 40, "sex": "Male"})
    assert (rows["age"] == 40).all() and (rows["sex"] == "Male").all()
    assert [t.achieved for t in report.targets] == [1.0, 1.0]
    path = private.save(tmp_path / "private.lookalike")
    out_csv = tmp_path / "given.csv"
    result = CliRunner().invoke(
        app,
        ["sample", str(path), "-n", "200", "-o", str(out_csv), "--condition", "sex=Female"],
    )
    assert result.exit_code == 0, result.output
    assert (pd.read_csv(out_csv)["sex"] == "Female").all()
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "conditions:\n  age: {min: 50}\nshift:\n  income: {'>50K': 0.6}\n", encoding="utf-8"
    )
    shifted_csv = tmp_path / "shifted.csv"
    result = CliRunner().invoke(
        app,
        ["sample", str(path), "-n", "2000", "-o", str(shifted_csv), "--scenario", str(scenario)],
    )
    assert result.exit_code == 0, result.output
    assert "share of '>50K'" in result.stdout
    shifted = pd.read_csv(shifted_csv)
    assert (shifted["age"] >= 50).all()
    assert (shifted["income"] == ">50K").mean() == pytest.approx(0.6, abs=1e-3)
    ruled = tmp_path / "ruled.yaml"
    ruled.write_text("rules:\n  - hours_per_week <= 60\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["sample", str(path), "-n", "500", "-o", str(tmp_path / "r.csv"), "--scenario", str(ruled)],
    )
    assert result.exit_code == 0, result.output
    assert (pd.read_csv(tmp_path / "r.csv")["hours_per_week"] <= 60).all()
    between = tmp_path / "between.yaml"
    between.write_text("rules:\n  - hours_per_week <= age\n", encoding="utf-8")
    refused = CliRunner().invoke(
        app,
        [
            "sample",
            str(path),
            "-n",
            "10",
            "-o",
            str(tmp_path / "b.csv"),
            "--scenario",
            str(between),
        ],
    )
    assert refused.exit_code != 0
    assert "enforces rules on one column" in refused.stderr
    assert not (tmp_path / "b.csv").exists()


def test_values_the_private_model_never_draws_are_refused(private: la.Synthesizer) -> None:
    import dataclasses

    dp_model = private.dp_model_
    k = dp_model.nodes.index(list(private.schema_.names).index("sex"))
    tables = list(dp_model.tables)
    tables[k] = tables[k].copy()
    tables[k][:, 0] = 0.0  # the first category of sex can no longer be drawn
    tables[k] /= tables[k].sum(axis=1, keepdims=True)
    private_copy = la.Synthesizer(epsilon=EPSILON)
    private_copy.__dict__.update(private.__dict__)
    private_copy.dp_model_ = dataclasses.replace(dp_model, tables=tuple(tables))
    value = dp_model.columns[dp_model.nodes[k]].categories[0]
    with pytest.raises(la.ConditionError, match="probability 0"):
        private_copy.sample(10, conditions={"sex": value})


def test_dates_come_out_as_dates_and_ranges_keep_both_end_days() -> None:
    rng = np.random.default_rng(0)
    days = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, 3000), unit="D")
    table = pd.DataFrame(
        {
            "day": days,
            "oslo_day": days.tz_localize("Europe/Oslo"),
            "text_day": days.strftime("%Y-%m-%d"),
            "minute": days + pd.to_timedelta(rng.integers(0, 1440, 3000), unit="min"),
            "kind": rng.choice(["a", "b"], 3000),
        }
    )
    with fixed_noise(4):
        model = la.Synthesizer(epsilon=2.0, random_state=0).fit(table)
    out = model.sample(3000)
    assert (out["day"] == out["day"].dt.normalize()).all()
    assert (out["oslo_day"] == out["oslo_day"].dt.normalize()).all()
    assert pd.to_datetime(out["text_day"]).notna().all()
    assert (out["minute"].dt.second == 0).all() and out["minute"].dt.hour.nunique() > 12
    inside = model.sample(3000, conditions={"day": ("2020-03-01 12:00", "2020-03-10")})
    assert inside["day"].min() == pd.Timestamp("2020-03-02")
    assert inside["day"].max() == pd.Timestamp("2020-03-10")


def test_rules_on_one_column_hold_on_a_private_model(table: pd.DataFrame) -> None:
    with fixed_noise(7):
        model = la.Synthesizer(epsilon=4.0, random_state=3).fit(table)
    rules = [
        "age >= 30",
        "hours_per_week < 40",
        "workclass not in ('Private', 'Self-emp-not-inc')",
        "sex == 'Female'",
    ]
    out = model.sample(5000, rules=rules, random_state=1)
    assert la.check_rules(out, rules).n_violations == 0
    assert out["age"].min() >= 30 and out["hours_per_week"].max() <= 39
    # As conditions do, the rules give the model's rows restricted to what they allow. A
    # rule does not check missing values, which keep their share of the column, where
    # rejection would keep every row missing a workclass (a third of its rows, against 7 %):
    # the rows with a workclass are compared.
    plain = model.sample(300_000, random_state=2)
    reference = plain[
        (plain["age"] >= 30)
        & (plain["hours_per_week"] < 40)
        & plain["workclass"].notna()
        & ~plain["workclass"].isin(["Private", "Self-emp-not-inc"])
        & (plain["sex"] == "Female")
    ]
    present = out[out["workclass"].notna()]
    for column in ("education", "marital_status", "income"):
        tolerance = 4 * _tvd_noise(present[column], reference[column])
        assert _tvd(present[column], reference[column]) < tolerance, column
    # A condition's range and a rule's on one column: values in both, spread as rejection's.
    both = model.sample(5000, conditions={"age": (25, 45)}, rules=["age > 35"], random_state=3)
    assert both["age"].between(36, 45).all()
    narrowed = plain[plain["age"].between(36, 45)]
    assert _tvd(both["age"], narrowed["age"]) < 4 * _tvd_noise(both["age"], narrowed["age"])
    with pytest.raises(la.ConditionError, match="enforces rules on one column"):
        model.sample(10, rules=["if sex == 'Male' then age >= 20"])
    # A category the model does not draw, misspelt or not, is named (``!=`` held everywhere).
    with pytest.warns(la.DataWarning, match="'male' is not a category the private model draws"):
        model.sample(10, rules=["sex != 'male'"])
    with (
        pytest.warns(la.DataWarning, match="'Martian' is not a category the private model"),
        pytest.raises(la.ConditionError, match="allows none of the categories"),
    ):
        model.sample(10, rules=["sex == 'Martian'"])
    with pytest.raises(la.ConditionError, match="allows none of the categories"):
        model.sample(10, rules=["sex == 'Male'", "sex != 'Male'"])
    with pytest.raises(la.ConditionError, match="does not store rules yet"):
        la.Synthesizer(epsilon=1.0).fit(table.head(300), rules=["age >= 18"])


def test_a_private_model_draws_hhmm_times_on_the_clock() -> None:
    # Cells of a noisy histogram are drawn uniformly: on the number line a fifth of the times
    # ended in 60-99, and a noisy range reached past 2400.
    rng = np.random.default_rng(12)
    minutes = rng.integers(5 * 60, 24 * 60, 4000)
    table = pd.DataFrame(
        {"dep_time": minutes // 60 * 100 + minutes % 60, "late": rng.random(4000) < 0.3}
    )
    model = la.Synthesizer(random_state=0, epsilon=2.0).fit(table)
    assert model.schema_["dep_time"].clock == "hhmm"
    times = model.sample(5000)["dep_time"]
    assert (times % 100 < 60).all() and times.between(0, 2400).all()
    ranged = model.sample(2000, conditions={"dep_time": (1130, 1230)})["dep_time"]
    assert ranged.between(1130, 1230).all() and (ranged % 100 < 60).all()


def test_a_private_clock_does_not_pile_noise_at_2400() -> None:
    """A noisy range past 2400 (up to the grid's 3162) held only noise, and every such cell was
    drawn as 2400: 0.1-1.4 % of a flights table's departures, which never leave at 2400. The
    clock's face is public, so the range ends at 2359."""
    rng = np.random.default_rng(3)
    n = 20_000
    minutes = rng.integers(5 * 60, 24 * 60, n)
    table = pd.DataFrame({"sched_dep_time": minutes // 60 * 100 + minutes % 60})
    for k in range(5):  # the budget shared as in a real table
        table[f"x{k}"] = rng.integers(0, 100, n)
    for seed in range(3):
        with fixed_noise(seed):
            model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
        times = model.sample(n, random_state=1)["sched_dep_time"]
        assert times.between(0, 2359).all() and (times % 100 < 60).all(), seed


def test_a_column_capped_at_its_end_and_months_stay_in_their_range() -> None:
    """The private range ended at the grid point past the data's end: a visibility capped at
    10 (84 % of rows) came out above 10 in 56 % of rows, up to 31.6 (and months reached 32 at
    epsilon 1)."""
    rng = np.random.default_rng(0)
    n = 20_000
    capped = np.where(rng.random(n) < 0.84, 10.0, rng.integers(0, 20, n) / 2)
    table = pd.DataFrame({"visib": capped, "month": rng.integers(1, 13, n)})
    with fixed_noise(3):
        out = la.Synthesizer(epsilon=4.0, random_state=0).fit(table).sample(20_000, random_state=1)
    assert out["visib"].max() <= 10.0
    assert (out["visib"] == 10.0).mean() == pytest.approx(0.84, abs=0.03)
    # Months past 12 come only from noise the trimming cannot tell from a thin tail.
    assert out["month"].min() >= 1 and (out["month"] > 12).mean() < 0.005


def test_a_maximum_at_a_grid_point_held_by_few_rows_stays() -> None:
    """A percentage's 100 (1 % of 2,000 rows) is too few rows to pass the range's threshold in
    a cell of its own; the interval below it still reaches it (it came out at most 99)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"pct": rng.integers(0, 101, 2_000), "g": rng.choice(["a", "b"], 2_000)})
    with fixed_noise(5):
        out = la.Synthesizer(epsilon=1.0, random_state=0).fit(table).sample(20_000, random_state=1)
    assert out["pct"].max() == 100 and (out["pct"] == 100).mean() > 0.004


def test_a_private_model_fixes_a_datetime_read_from_text() -> None:
    """A condition or a seed row on a datetime column written as text (any date in a CSV)
    failed with "'Synthesizer' object has no attribute 'encoder_'"."""
    rng = np.random.default_rng(0)
    n = 3_000
    stamps = pd.Timestamp("2013-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 365 * 24, n), unit="h"
    )
    table = pd.DataFrame(
        {"time_hour": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "c": rng.choice(["a", "b"], n)}
    )
    model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    fixed = model.sample(50, conditions={"time_hour": "2013-06-01T16:00:00Z"})
    assert (fixed["time_hour"] == "2013-06-01T16:00:00Z").all()
    seeds = model.sample(20, random_state=1)[["time_hour"]]
    completed = model.sample(conditions=seeds)
    assert completed["time_hour"].tolist() == seeds["time_hour"].tolist()


def test_a_private_model_learns_numbers_past_ten_to_the_thirteen() -> None:
    """The range grid stopped at 1e13: epoch microseconds all came out as 10000000000000."""
    values = np.random.default_rng(0).integers(int(1.6e15), int(1.7e15), 5_000)
    with fixed_noise(0):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(pd.DataFrame({"v": values}))
    out = model.sample(2_000, random_state=1)["v"]
    assert out.nunique() > 1_000
    assert out.between(1.5e15, 1.8e15).all() and out.quantile(0.9) - out.quantile(0.1) > 5e13


def test_a_private_model_keeps_the_step_of_durations_and_times_of_day() -> None:
    """Whole-second times of day (microseconds) came out with microseconds (08:52:14.270835),
    and the end of the day as 23:59:59.999999."""
    rng = np.random.default_rng(0)
    seconds = rng.integers(0, 86_400, 5_000)
    table = pa.table(
        {
            "tod": pa.array(seconds * 10**6, pa.time64("us")),
            "wait": pa.array(seconds, pa.duration("s")),
            "g": rng.choice(["a", "b"], 5_000),
        }
    )
    with fixed_noise(0):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    out = model.sample(5_000, random_state=1)
    assert (out["tod"].map(lambda t: t.microsecond) == 0).all()
    assert (out["wait"].dt.total_seconds() % 1 == 0).all()


def test_a_private_model_near_int64s_end_does_not_wrap() -> None:
    """The range grid reaches 1e19, past int64: values drawn past 2**63 wrapped to -9.2e18."""
    rng = np.random.default_rng(0)
    values = rng.integers(int(5e18), int(9.2e18), 5_000)
    table = pd.DataFrame({"v": values, "c": rng.choice(["a", "b"], 5_000)})
    with fixed_noise(0):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    out = model.sample(5_000, random_state=1)["v"]
    assert out.dtype == np.int64 and (out > 0).all()


def test_a_private_whole_number_range_past_2_to_the_63_is_learned() -> None:
    """The range's ends were Python ints: -10**19 made numpy arrays of objects, and the fit
    failed (a CI run met it at epsilon 0.05, where noise alone reached the grid's ends)."""
    rng = np.random.default_rng(0)
    values = rng.integers(-(9 * 10**18), 9 * 10**18, 5_000)
    table = pd.DataFrame({"v": values, "c": rng.choice(["a", "b"], 5_000)})
    with fixed_noise(0):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    out = model.sample(2_000, random_state=1)["v"]
    assert out.dtype == np.int64 and (out < 0).mean() == pytest.approx(0.5, abs=0.1)


def test_a_noisy_one_point_range_far_out_still_has_a_cell() -> None:
    """At epsilon 0.05 on 300 rows, noise alone can make a whole-number column's range the
    single point -1e19; -1e19 + 1 is -1e19 in floats, so it got no cell and the fit failed
    (16 fits in 150)."""
    from lookalike.models._dp import _fine_cells

    for low, high in ((-1e19, -1e19), (1e18, 1e18), (5.0, 5.0)):
        lows, highs = _fine_cells(low, high, True)
        assert lows.tolist() == [low] and highs.tolist() == [high]
    lows, highs = _fine_cells(-1e19, 1e19, True)
    assert len(lows) > 10 and lows.min() == -1e19 and highs.max() == 1e19


def test_whole_number_codes_gain_no_values_the_noise_alone_made() -> None:
    """A range ends at the grid point past the data (3.16, 10), and each value between got its
    noisy count: ``sex`` coded 1/2 came out 3, ``education`` 1-6 up to 10, a gap inside a
    code (no 1 among -2..3) and a constant column took other values."""
    rng = np.random.default_rng(0)
    n = 24_000
    table = pd.DataFrame(
        {
            "sex": rng.choice([1, 2], n, p=[0.4, 0.6]),
            "education": rng.choice(
                [1, 2, 3, 4, 5, 6], n, p=[0.35, 0.45, 0.15, 0.03, 0.015, 0.005]
            ),
            "pay": rng.choice([-2, -1, 0, 2, 3], n, p=[0.15, 0.2, 0.5, 0.1, 0.05]),
            "constant": np.full(n, 5),
            "amount": rng.lognormal(8, 1, n).round(),
        }
    )
    for seed in range(3):
        with fixed_noise(seed):
            model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
        out = model.sample(n, random_state=1)
        for name in ("sex", "education", "pay", "constant"):
            assert set(out[name].dropna()) <= set(table[name]), (seed, name)
        shares = out["education"].value_counts(normalize=True)
        assert shares[1] == pytest.approx(0.35, abs=0.02) and shares[4] > 0.01, seed


def test_a_thin_spread_tail_of_whole_numbers_is_not_taken_for_noise() -> None:
    """Values under the noise threshold one by one but holding many rows together stay: on
    2,000 rows at epsilon 1, ages' cells are mostly that thin."""
    rng = np.random.default_rng(0)
    ages = np.clip(rng.normal(40, 14, 2_000).round(), 17, 90)
    others = {f"g{i}": rng.choice(["a", "b"], 2_000) for i in range(6)}  # to share the budget
    table = pd.DataFrame({"age": ages, **others})
    with fixed_noise(2):
        out = la.Synthesizer(epsilon=1.0, random_state=0).fit(table).sample(20_000, random_state=1)
    assert (out["age"] >= 60).mean() == pytest.approx((ages >= 60).mean(), abs=0.04)
    assert out["age"].quantile(0.05) < 25


def test_a_rule_on_a_private_model_leaves_the_missing_share_as_it_was() -> None:
    """A rule does not check missing values, and they took the mass it removed: ``x >= 45``
    made 26 % of ``x`` missing where the model draws 10 %, ``c != 'u'`` 26 % of ``c`` for 15 %."""
    rng = np.random.default_rng(0)
    n = 20_000
    x = rng.normal(40, 10, n).round()
    x[rng.random(n) < 0.1] = np.nan
    c = np.where(rng.random(n) < 0.15, None, rng.choice(["u", "v", "w"], n, p=[0.5, 0.3, 0.2]))
    table = pd.DataFrame({"x": x, "g": rng.choice(["a", "b", "c"], n), "c": c})
    with fixed_noise(0):
        model = la.Synthesizer(epsilon=2.0, random_state=0).fit(table)
    plain = model.sample(n, random_state=1)
    # One rule at a time: a rule on one column also moves the others' missing shares as far as
    # the model (here, its noise) ties them.
    for name, rule in (("x", "x >= 45"), ("c", "c != 'u'")):
        out = model.sample(n, random_state=1, rules=[rule])
        assert la.check_rules(out, [rule]).n_violations == 0
        assert out[name].isna().mean() == pytest.approx(plain[name].isna().mean(), abs=0.01)


def test_a_thin_tail_does_not_keep_the_empty_values_at_the_other_end() -> None:
    """The share that keeps thin tails was for all runs of empty-looking values at once: a
    real tail (ages 64-79, 400 rows) kept ages 10-20, which held only noise, too."""
    from lookalike.models._dp import _FineHistogram, _without_empty_values

    ages = np.arange(10, 101, dtype=float)
    noisy = np.select([ages <= 20, ages <= 63, ages <= 79], [20.0, 650.0, 25.0], 0.0)
    histogram = _FineHistogram(np.array([]), ages, ages, np.append(noisy, 0.0), 23.3, True)
    kept = _without_empty_values(histogram).cell_low
    assert kept.min() == 21 and {64.0, 79.0} <= set(kept)


def test_rows_past_the_range_are_not_a_spike_at_its_end() -> None:
    """Rows past a private range's ends were clipped into the end cells, which made spikes:
    default_credit's bill amounts below 0 (2 % of rows) all came out as 1, the one value of
    the cell next to the range's end at 0, and amounts past 316,227 piled up just below it."""
    rng = np.random.default_rng(0)
    n = 20_000
    amount = np.round(rng.lognormal(9, 1.2, n))
    amount[rng.random(n) < 0.07] = 0
    below = rng.random(n) < 0.03  # thin, over four decades: the range leaves them out
    amount[below] = -np.round(10 ** rng.uniform(0, 4, below.sum()))
    table = pd.DataFrame({"amount": amount.astype(np.int64), "g": rng.choice(["a", "b"], n)})
    with fixed_noise(3):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    out = model.sample(n, random_state=1)["amount"]
    assert (out < 0).mean() < 0.01  # the negatives are past the range, as the test means
    shares = out[out != 0].value_counts(normalize=True)
    assert shares.max() < 0.005, shares.head(3)
    # Still the same amounts at either end, in quantiles.
    for q in (0.2, 0.5, 0.9, 0.99):
        assert np.quantile(out, q) == pytest.approx(np.quantile(amount, q), rel=0.35, abs=20)
    assert (out == 0).mean() == pytest.approx(0.07, abs=0.01)


def test_a_thin_tail_whose_noisy_sum_is_below_zero_stays() -> None:
    """A long run's noisy sum has a large noise: ages 60-100 on 2,000 rows (149 of them, a
    noise of 200 on the sum) summed below zero and went, one fit in 40. Next to values of many
    rows a run of that sum still goes (codes past their last)."""
    from lookalike.models._dp import _FineHistogram, _without_empty_values

    ages = np.arange(10, 101, dtype=float)
    sigma = 31.5
    noisy = np.select([ages < 20, ages < 60, ages <= 100], [0.0, 400.0, -2.0], 0.0)
    noisy[ages == 59] = 100.0  # a thin value next to the tail passes alone
    histogram = _FineHistogram(np.array([]), ages, ages, np.append(noisy, 0.0), sigma, True)
    kept = _without_empty_values(histogram).cell_low
    assert {60.0, 100.0} <= set(kept) and kept.min() == 20
    # The same run after a code of many rows: the data stop there.
    noisy[ages == 59] = 2000.0
    histogram = _FineHistogram(np.array([]), ages, ages, np.append(noisy, 0.0), sigma, True)
    assert _without_empty_values(histogram).cell_low.max() == 59


def test_whole_numbers_come_out_as_round_as_the_data(tmp_path: Path) -> None:
    """Drawn uniformly within their cells, a private model's credit limits (multiples of
    10,000) came out round in 1.6 % of rows; a noisy count of trailing zeros per decade puts
    them back on their round values."""
    rng = np.random.default_rng(0)
    n = 20_000
    limit = 10_000 * rng.integers(1, 60, n)
    payment = np.where(
        rng.random(n) < 0.4, 1_000 * rng.integers(1, 30, n), rng.integers(1, 30_000, n)
    )
    payment[rng.random(n) < 0.15] = 0
    table = pd.DataFrame({"limit": limit, "payment": payment, "g": rng.choice(["a", "b"], n)})
    with fixed_noise(5):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    assert {"round limit", "round payment"} <= {
        s["step"] for s in model.describe()["privacy"]["differential_privacy"]["ledger"]["steps"]
    }
    out = model.sample(n, random_state=1)
    assert (out["limit"] % 10_000 == 0).mean() > 0.9
    paid = out["payment"][out["payment"] != 0]
    real_paid = table["payment"][table["payment"] != 0]
    assert (paid % 1_000 == 0).mean() == pytest.approx((real_paid % 1_000 == 0).mean(), abs=0.1)
    # Rounding stays within a condition's or a rule's range.
    inside = model.sample(2000, conditions={"limit": (55_000, 95_000)}, random_state=2)
    assert inside["limit"].between(55_000, 95_000).all()
    assert (inside["limit"] % 10_000 == 0).mean() > 0.8
    ruled = model.sample(2000, rules=["limit <= 145000"], random_state=3)
    assert ruled["limit"].max() <= 145_000
    # Saved and loaded; a tampered table of shares is refused.
    path = model.save(tmp_path / "round.lookalike")
    pd.testing.assert_frame_equal(la.load(path).sample(500), model.sample(500))
    _assert_refused_negated(path, lambda k: k.endswith(".round"))


def test_a_code_and_its_label_stay_together() -> None:
    """A code of a few whole numbers was binned, and drawn within its bin whatever its label
    said: adult's education agreed with its code in 81 % of rows at epsilon 1. A code now has
    a token per value, and the 2-way table's empty cells lose their noise with one shift."""
    rng = np.random.default_rng(0)
    n = 20_000
    code = rng.choice(np.arange(1, 17), n, p=np.r_[np.full(8, 0.02), np.full(8, 0.105)])
    label = np.array([f"level-{c:02d}" for c in range(17)])[code]
    other = {f"g{i}": rng.choice(["a", "b", "c"], n) for i in range(4)}
    table = pd.DataFrame({"code": code, "label": label, **other})
    with fixed_noise(1):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(table)
    out = model.sample(n, random_state=1)
    agree = out["label"] == out["code"].map(lambda c: f"level-{c:02d}")
    assert agree.mean() > 0.93


def test_values_past_declared_bounds_are_clipped_onto_them() -> None:
    """Declared bounds clip (README): rows past them are their end's value, not spread over
    the cells inside as rows past a private range are."""
    rng = np.random.default_rng(0)
    n = 20_000
    ages = rng.integers(17, 91, n)
    table = pd.DataFrame({"age": ages, "g": rng.choice(["a", "b"], n)})
    with fixed_noise(0):
        model = la.Synthesizer(epsilon=1.0, random_state=0).fit(
            table, {"age": {"bounds": [17, 60]}}
        )
    out = model.sample(n, random_state=1)["age"]
    assert out.between(17, 60).all()
    assert (out == 60).mean() == pytest.approx((ages >= 60).mean(), abs=0.03)


def test_a_category_column_of_nullable_numbers_with_no_value_is_learned_as_missing() -> None:
    """Its labels kept the column's nullable dtype, which took no placeholder: TypeError."""
    frame = pd.DataFrame(
        {
            "x": np.random.default_rng(0).normal(size=500),
            "none": pd.Categorical(pd.array([None] * 500, dtype="Int64")),
            "unknown": pd.Categorical(pd.array([None] * 500, dtype="boolean")),
        }
    )
    with fixed_noise(5):
        out = la.Synthesizer(epsilon=1.0, random_state=0).fit(frame).sample(50, random_state=1)
    # (Nearly: the private model's share of missing values is a noisy count.)
    assert out["none"].isna().mean() > 0.8 and out["unknown"].isna().mean() > 0.8


def test_categories_of_numbers_keep_their_dtype_without_their_values() -> None:
    """The private model keeps no declared categories (they are the data's values), but the
    categories' dtype is no one's value: 10, 20, 30 came back as the text '10', '20', '30'."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "size": pd.Categorical(rng.choice([10, 20, 30], 3000)),
            "flag": pd.Categorical(rng.choice([True, False], 3000)),
            # Missing values' label is "nan", read back as a category: the sample raised.
            "ratio": pd.Categorical(np.where(rng.random(3000) < 0.2, np.nan, 1.5)),
            "count": pd.Categorical(pd.array(rng.choice([7, 8], 3000), dtype="UInt8")),
        }
    )
    with fixed_noise(4):
        model = la.Synthesizer(epsilon=4.0, random_state=0).fit(frame)
        out = model.sample(500, random_state=1)
    assert model.schema_["size"].category_order is None
    assert out["size"].dtype.categories.dtype == "int64"
    assert set(out["size"].dropna()) <= {10, 20, 30}
    assert out["flag"].dtype.categories.dtype == "bool"
    assert list(out["ratio"].dtype.categories) == [1.5]
    assert out["count"].dtype.categories.dtype == "UInt8"
    assert set(out["count"].dropna()) <= {7, 8}
    assert out["ratio"].isna().mean() == pytest.approx(0.2, abs=0.08)
