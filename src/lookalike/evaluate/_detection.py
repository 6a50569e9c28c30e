"""Detection: can a classifier tell synthetic rows from real ones?

Equal numbers of real and synthetic rows (at most :data:`MAX_DETECTION_ROWS` each) are labelled
0 and 1; a gradient-boosted tree classifier is trained with stratified K-fold cross-validation,
and the ROC AUC of its pooled out-of-fold scores is reported. 0.5 means the classifier cannot tell
the tables apart; 1.0 means it always can.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.evaluate._models import (
    fit_tree_encoding,
    informative_columns,
    limited_threads,
    make_classifier,
)
from lookalike.evaluate._prepare import ColumnKind

#: Rows per table used by the detection classifier.
MAX_DETECTION_ROWS = 10_000
N_FOLDS = 5


def detection_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    names: tuple[str, ...],
    kinds: tuple[ColumnKind, ...],
    rng: np.random.Generator,
    max_rows: int,
) -> tuple[float | None, int, int]:
    """Return ``(ROC AUC or None if too few rows, rows per table, folds)``."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    n = min(real.shape[0], synthetic.shape[0], max_rows, MAX_DETECTION_ROWS)
    n_folds = min(N_FOLDS, n)
    if n_folds < 2:
        return None, n, 0
    real_rows = real.iloc[rng.choice(real.shape[0], size=n, replace=False)]
    synth_rows = synthetic.iloc[rng.choice(synthetic.shape[0], size=n, replace=False)]
    encoding = fit_tree_encoding([real_rows, synth_rows], names, kinds)
    features = np.vstack([encoding.transform(real_rows), encoding.transform(synth_rows)])
    usable = informative_columns(features)
    if not usable.any():
        # Every value is missing in both tables: nothing tells them apart.
        return 0.5, n, 0
    features, categorical = features[:, usable], encoding.categorical_mask[usable]
    labels = np.repeat(np.array([0, 1]), n)
    scores = np.empty(labels.shape[0], dtype=np.float64)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=int(rng.integers(2**31)))
    with limited_threads():
        for train, test in folds.split(features, labels):
            model = make_classifier(categorical, int(rng.integers(2**31)))
            model.fit(features[train], labels[train])
            scores[test] = model.predict_proba(features[test])[:, 1]
    return float(roc_auc_score(labels, scores)), n, n_folds
