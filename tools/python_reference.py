#!/usr/bin/env python3
"""The Python Strain Seer's analysis of one annotation file, timed: the comparison that
`strain-seer bench formats` runs beside Strain Seer on the same file.

    python3 tools/python_reference.py ANNOTATIONS.json --out DIR [--tool-dir DIR]

The pipeline is the Python tool's own (KemingHe/strain-seer, MIT): json.load of the
annotation ("raw data") file; per complete image, in `order`, the fiducial and scale points,
`normalize_points_by_scale` and `calculate_strain_tensor` against the reference image (the
smallest deformation distance; the app itself compares each image with itself, "for now");
`analyze_strain_data` (three `scipy.stats.linregress`); `export_raw_data` and
`export_analysis_results` (json.dumps with indent=2 and pandas `to_csv`), written to files;
`create_strain_plot` for x_axis, y_axis and shear, saved as PNG.

With --tool-dir (or STRAIN_SEER_PYTHON_TOOL) pointing at a checkout of that repository, its
modules `strain_analysis_core` and `strain_analysis_data` are imported and their functions
called. Without one, the same functions, written here after that code's documented behaviour
(numpy least squares, scipy linregress, json, pandas or csv, matplotlib), are used instead. No
code of the Python tool is part of this repository.

Prints one JSON object on standard output: the timings in seconds (`load`, `strains`,
`regression`, `exports`, `plots`, `total`, all after the imports), `images`, `implementation`
("tool" or "equivalent") and the library versions. Needs numpy, scipy and matplotlib; pandas
is used when present (the tool needs it).
"""

import argparse
import importlib
import json
import os
import pathlib
import sys
import time


def equivalent_functions():
    """numpy/scipy/matplotlib versions of the tool's core functions (same signatures)."""
    import numpy as np
    from scipy import stats

    def normalize_points_by_scale(fiducial_points, scale_points, scale_length):
        if fiducial_points.shape != (5, 2) or scale_points.shape != (2, 2):
            raise ValueError("expected 5 fiducial and 2 scale points")
        pixel_scale = np.linalg.norm(scale_points[1] - scale_points[0])
        return (fiducial_points - scale_points[0]) * (scale_length / pixel_scale)

    def calculate_strain_tensor(original_points, deformed_points, strain_type="small", center_index=4):
        original_points = np.asarray(original_points, dtype=float)
        deformed_points = np.asarray(deformed_points, dtype=float)
        corners = [i for i in range(len(original_points)) if i != center_index]
        a = original_points[corners] - original_points[center_index]
        b = deformed_points[corners] - deformed_points[center_index]
        f_t, _, _, _ = np.linalg.lstsq(a, b, rcond=None)
        f = f_t.T
        if strain_type == "small":
            return 0.5 * (f + f.T) - np.eye(2)
        return 0.5 * (f.T @ f - np.eye(2))

    def calculate_regression(x_values, y_values):
        slope, intercept, r_value, p_value, _ = stats.linregress(x_values, y_values)
        return {
            "slope": float(slope),
            "intercept": float(intercept),
            "r_squared": float(r_value**2),
            "p_value": float(p_value),
        }

    def analyze_strain_data(strain_data, scale_length):
        x_values = [d["deformation_distance"] for d in strain_data]
        components = {"x_axis": (0, 0), "y_axis": (1, 1), "shear": (0, 1)}
        regression_results = {
            name: calculate_regression(x_values, [d["strain_tensor"][i, j] for d in strain_data])
            for name, (i, j) in components.items()
        }
        return {
            "strain_data": strain_data,
            "scale_length": scale_length,
            "regression_results": regression_results,
        }

    def to_csv(rows):
        try:
            import pandas as pd

            return pd.DataFrame(rows).to_csv(index=False)
        except ImportError:
            import csv
            import io

            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            return out.getvalue()

    def export_raw_data(files_data, scale_length, strain_data):
        json_str = json.dumps({"files_data": files_data, "scale_length": scale_length}, indent=2)
        csv_str = to_csv(
            [
                {
                    "filename": d["filename"],
                    "deformation_distance": d["deformation_distance"],
                    "strain_xx": d["strain_tensor"][0, 0],
                    "strain_yy": d["strain_tensor"][1, 1],
                    "strain_xy": d["strain_tensor"][0, 1],
                }
                for d in strain_data
            ]
        )
        return json_str, csv_str

    def export_analysis_results(regression_results):
        json_str = json.dumps(regression_results, indent=2)
        csv_str = to_csv([{"component": name, **r} for name, r in regression_results.items()])
        return json_str, csv_str

    def create_strain_plot(x_values, y_values, results, title, ylabel):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.scatter(x_values, y_values, color="blue", label="Data points")
        ax.plot(
            x_values,
            [results["slope"] * x + results["intercept"] for x in x_values],
            color="red",
            label="Regression line",
        )
        ax.set_xlabel("Deformation Distance (mm)")
        ax.set_ylabel(ylabel)
        ax.legend()
        return fig

    return {
        "normalize_points_by_scale": normalize_points_by_scale,
        "calculate_strain_tensor": calculate_strain_tensor,
        "analyze_strain_data": analyze_strain_data,
        "export_raw_data": export_raw_data,
        "export_analysis_results": export_analysis_results,
        "create_strain_plot": create_strain_plot,
    }


def tool_functions(tool_dir):
    """The Python tool's own functions, imported from a checkout of its repository."""
    sys.path.insert(0, str(tool_dir))
    core = importlib.import_module("strain_analysis_core")
    data = importlib.import_module("strain_analysis_data")
    return {
        "normalize_points_by_scale": core.normalize_points_by_scale,
        "calculate_strain_tensor": core.calculate_strain_tensor,
        "analyze_strain_data": data.analyze_strain_data,
        "export_raw_data": data.export_raw_data,
        "export_analysis_results": data.export_analysis_results,
        "create_strain_plot": data.create_strain_plot,
    }


def run_once(fns, args):
    """One timed run of the pipeline: (times, images analysed, regression results)."""
    import matplotlib.pyplot as plt
    import numpy as np

    times = {}

    start = time.perf_counter()
    t = start
    with open(args.annotations, encoding="utf-8") as f:
        raw = json.load(f)
    files_data, scale_length = raw["files_data"], raw["scale_length"]
    times["load"] = time.perf_counter() - t

    t = time.perf_counter()
    images = []
    for data in sorted(files_data.values(), key=lambda x: x["order"]):
        fiducial, scale = [], []
        for point in data["points"]:
            (fiducial if point["label"] == "Fiducial" else scale).append(point["point"])
        if len(fiducial) != 5 or len(scale) != 2 or data.get("deformation_distance") is None:
            continue
        normalized = fns["normalize_points_by_scale"](np.array(fiducial), np.array(scale), scale_length)
        images.append((data, normalized))
    reference = min(images, key=lambda im: im[0]["deformation_distance"])[1]
    strain_data = [
        {
            "filename": data["filename"],
            "deformation_distance": data["deformation_distance"],
            "strain_tensor": fns["calculate_strain_tensor"](reference, normalized),
        }
        for data, normalized in images
    ]
    times["strains"] = time.perf_counter() - t

    t = time.perf_counter()
    results = fns["analyze_strain_data"](strain_data, scale_length)
    regression = results["regression_results"]
    times["regression"] = time.perf_counter() - t

    t = time.perf_counter()
    raw_json, raw_csv = fns["export_raw_data"](files_data, scale_length, strain_data)
    reg_json, reg_csv = fns["export_analysis_results"](regression)
    for name, text in [
        ("raw_data.json", raw_json),
        ("raw_data.csv", raw_csv),
        ("analysis_results.json", reg_json),
        ("analysis_results.csv", reg_csv),
    ]:
        (args.out / name).write_text(text, encoding="utf-8")
    times["exports"] = time.perf_counter() - t

    t = time.perf_counter()
    x_values = [d["deformation_distance"] for d in strain_data]
    for key, (i, j), ylabel in [
        ("x_axis", (0, 0), "Strain (εxx)"),
        ("y_axis", (1, 1), "Strain (εyy)"),
        ("shear", (0, 1), "Strain (εxy)"),
    ]:
        y_values = [d["strain_tensor"][i, j] for d in strain_data]
        fig = fns["create_strain_plot"](x_values, y_values, regression[key], key, ylabel)
        fig.savefig(args.out / f"plot-{key}.png")
        plt.close(fig)
    times["plots"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start

    return times, len(strain_data), regression


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("annotations", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--tool-dir", type=pathlib.Path, default=os.environ.get("STRAIN_SEER_PYTHON_TOOL"))
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; the fastest is reported")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import scipy
    import scipy.stats  # noqa: F401  (imported before the clock starts, as the tool's modules do)

    try:
        import pandas  # noqa: F401
    except ImportError:
        pass

    implementation = "equivalent"
    fns = None
    if args.tool_dir:
        try:
            fns = tool_functions(args.tool_dir)
            implementation = "tool"
        except ImportError as err:
            print(f"python_reference: cannot import the tool from {args.tool_dir} ({err}); "
                  "using the equivalent functions", file=sys.stderr)
    if fns is None:
        fns = equivalent_functions()
    args.out.mkdir(parents=True, exist_ok=True)
    best = None
    for _ in range(max(1, args.repeat)):
        times, n, regression = run_once(fns, args)
        if best is None or times["total"] < best[0]["total"]:
            best = (times, n, regression)
    times, n, regression = best

    print(json.dumps({
        "implementation": implementation,
        "images": n,
        "repeat": args.repeat,
        "times": times,
        "slope_x_axis": regression["x_axis"]["slope"],
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "matplotlib": matplotlib.__version__,
    }))


if __name__ == "__main__":
    main()
