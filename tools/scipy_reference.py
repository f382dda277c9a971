#!/usr/bin/env python3
"""Reference numbers for Strain Seer's regression, from scipy.stats.linregress.

Writes crates/engine/tests/data/scipy_linregress.json, which the Rust test
crates/engine/tests/regression_scipy.rs compares with `linregress` to 1e-9 relative.
Run from the repository root after `pip install scipy numpy`:

    python3 tools/scipy_reference.py

Every dataset is written with its inputs, so the test needs neither Python nor scipy.
Values scipy reports as NaN (constant y in recent scipy) are written as null; docs/formats.md#3-regression defines
those cases (r = 0, p = 1, standard errors 0) and the Rust test checks them separately.
"""

import json
import math
import pathlib
import platform

import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/engine/tests/data/scipy_linregress.json"


def demo():
    # eps_xx, eps_yy, eps_xy of the four demo photos (demo/truth.json), reference = 0 mm.
    truth = json.loads((OUT.parent / "demo_truth.json").read_text())
    d = [im["deformation_mm"] for im in truth["images"]]
    out = []
    for key in ("eps_xx", "eps_yy", "eps_xy"):
        y = [im["strain"][key] for im in truth["images"]]
        y[0] = 0.0  # the reference row is exactly 0 (truth.json has 2.6e-18 of rounding)
        out.append((f"demo {key}", d, y))
    return out


def datasets():
    rng = np.random.default_rng(20261101)
    sets = demo()
    sets.append(("n = 3", [0.0, 10.0, 20.0], [0.001, 0.093, 0.170]))
    sets.append(("negative slope", [0, 5, 10, 15, 20, 25], [0.01, -0.07, -0.16, -0.22, -0.33, -0.39]))
    sets.append(("unsorted, repeated x", [20, 0, 10, 10, 30, 0], [0.2, 0.01, 0.09, 0.12, 0.31, -0.02]))
    sets.append(("no correlation", [0, 1, 2, 3, 4, 5, 6], [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0]))
    sets.append(("weak, noisy", [0, 2, 4, 6, 8, 10, 12, 14], [0.3, -0.1, 0.5, 0.2, -0.4, 0.6, 0.1, 0.4]))
    x = np.linspace(0.0, 30.0, 1000)
    y = 0.004 * x + rng.normal(0.0, 0.05, x.size)
    sets.append(("large n = 1000, moderate", x.tolist(), y.tolist()))
    x = rng.uniform(0.0, 50.0, 2000)
    y = -0.0021 * x + 0.03 + rng.normal(0.0, 0.2, x.size)
    sets.append(("large n = 2000, weak", x.tolist(), y.tolist()))
    x = np.arange(40, dtype=float)
    y = 0.01 * x + rng.normal(0.0, 0.02, x.size)
    sets.append(("strong, tiny p", x.tolist(), y.tolist()))
    x = 1000.0 + np.arange(10, dtype=float) * 0.5
    y = 1e-6 * (x - 1000.0) + rng.normal(0.0, 1e-7, x.size)
    sets.append(("offset x, tiny strains", x.tolist(), y.tolist()))
    sets.append(("perfect fit, n = 3", [0.0, 1.0, 2.0], [1.0, 3.0, 5.0]))
    sets.append(("perfect fit, n = 5", [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 5.0, 7.0, 9.0]))
    sets.append(("constant y = 0", [0.0, 10.0, 20.0, 30.0], [0.0, 0.0, 0.0, 0.0]))
    sets.append(("constant y = 0.1", [0.0, 10.0, 20.0, 30.0, 40.0], [0.1] * 5))
    return sets


def finite_or_none(v):
    v = float(v)
    return v if math.isfinite(v) else None


def main():
    cases = []
    for name, x, y in datasets():
        with np.errstate(all="ignore"):
            r = stats.linregress(x, y)
        n = len(x)
        t975 = float(stats.t.ppf(0.975, n - 2))
        half = t975 * float(r.stderr)
        cases.append(
            {
                "name": name,
                "x": [float(v) for v in x],
                "y": [float(v) for v in y],
                "slope": finite_or_none(r.slope),
                "intercept": finite_or_none(r.intercept),
                "r_value": finite_or_none(r.rvalue),
                "p_value": finite_or_none(r.pvalue),
                "stderr": finite_or_none(r.stderr),
                "intercept_stderr": finite_or_none(r.intercept_stderr),
                "t975": t975,
                "slope_ci95": [finite_or_none(r.slope - half), finite_or_none(r.slope + half)],
            }
        )
    doc = {
        "generator": "tools/scipy_reference.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cases": cases,
    }
    # One case per line keeps the file small and its diffs readable.
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"}, indent=1)[:-2]
    body = ",\n".join("  " + json.dumps(c) for c in cases)
    OUT.write_text(f'{head},\n "cases": [\n{body}\n ]\n}}\n')
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
