#!/usr/bin/env python3
"""The compression ablation of launch/ablation: runs, collects, renders.

  ablation.py run <config> --ranks N --sparsities 0.5,... --variants pp,... --strength L
                  --ramp-end F --jobs J --runs-dir DIR --out RESULT.json
  ablation.py render <results-dir> <compression.md>

Variants, applied to every conv layer of the config (each layer pruned while it trains):
  baseline   no pruning
  pp         progressive pruning: the target sparsity on a cubic ramp over the first fraction F
             (--ramp-end) of the layer's epochs, then training goes on at the final sparsity
  dswr       reinforcement without the progressive ramp: the final sparsity at once after the
             first epoch, kept weights reinforced (strength lambda), training goes on
  pp+dswr    the same ramp, with reinforcement at every step
  oneshot    magnitude pruning once, after the last epoch (no training after it): the obvious baseline
A run whose metrics.json exists is not run again, so an interrupted ablation resumes; --jobs runs
that many trainings at once (each on --ranks ranks).
`render` appends docs/ablation/<name>.notes.md (the reading of the results, by hand) when it exists.
"""
import argparse, concurrent.futures, copy, datetime, json, math, os, subprocess, sys

VARIANTS = ["baseline", "pp", "dswr", "pp+dswr", "oneshot"]
LABELS = {"baseline": "baseline (no pruning)", "pp": "PP", "dswr": "DSWR", "pp+dswr": "PP + DSWR",
          "oneshot": "one-shot after training"}
COLOURS = {"pp": "#1f77b4", "dswr": "#2ca02c", "pp+dswr": "#d62728", "oneshot": "#7f7f7f"}


def ramp_end_epoch(epochs, ramp_end):
    """Last epoch (0-based) of the progressive ramp: the first ceil(F * epochs) epochs, at least one."""
    return max(1, math.ceil(ramp_end * epochs - 1e-9)) - 1


def variant_config(base, variant, sparsity, strength, ramp_end=1.0):
    c = copy.deepcopy(base)
    for layer in c["layers"]:
        if layer.get("type") != "conv":
            continue
        layer.pop("pruning", None)
        if variant == "baseline":
            continue
        epochs = layer["epochs"]
        p = {"final_sparsity": sparsity, "ramp": "cubic"}
        if variant == "pp":
            p.update(start_epoch=0, end_epoch=ramp_end_epoch(epochs, ramp_end))
        elif variant == "dswr":
            p.update(start_epoch=0, end_epoch=0, reinforcement=strength)
        elif variant == "pp+dswr":
            p.update(start_epoch=0, end_epoch=ramp_end_epoch(epochs, ramp_end), reinforcement=strength)
        elif variant == "oneshot":
            p.update(start_epoch=epochs - 1, end_epoch=epochs - 1)
        layer["pruning"] = p
    return c


def run(config, ranks, sparsities, variants, strength, ramp_end, jobs, runs_dir, out):
    base = json.load(open(config))
    sparsities = [float(s) for s in sparsities.split(",")]
    variants = variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            sys.exit(f"ablation: unknown variant '{v}' (one of {', '.join(VARIANTS)})")
    for s in sparsities:
        if not 0 < s < 1:
            sys.exit(f"ablation: sparsity {s} is not in (0, 1)")
    if not 0 <= strength <= 1:
        sys.exit(f"ablation: --strength {strength:g} is not in [0, 1]")
    if not 0 < ramp_end <= 1:
        sys.exit(f"ablation: --ramp-end {ramp_end:g} is not in (0, 1]")
    if jobs < 1 or ranks < 1:
        sys.exit("ablation: --jobs and --ranks must be at least 1")
    for layer in base.get("layers", []):
        if layer.get("type") == "conv" and int(layer.get("epochs", 0)) < 1:
            sys.exit(f"ablation: {config}: layer {layer.get('name', '?')} has no epochs to prune over")
    os.makedirs(runs_dir, exist_ok=True)
    todo = [("baseline", 0.0)] if "baseline" in variants else []
    todo += [(v, s) for v in dict.fromkeys(variants) if v != "baseline" for s in dict.fromkeys(sparsities)]
    names = [v.replace("+", "-") if v == "baseline" else f"{v.replace('+', '-')}-{s * 100:g}" for v, s in todo]
    if len(set(names)) != len(names):
        sys.exit("ablation: two sparsities give the same run name: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    here = os.path.dirname(os.path.abspath(__file__))
    mpirun_local = os.path.join(here, "..", "launch", "mpirun-local")
    binary = os.environ.get("SPINNPRUNE_BIN", ".build/release/spinnprune")
    pending = []
    for k, ((v, s), name) in enumerate(zip(todo, names)):
        cfg = variant_config(base, v, s, strength, ramp_end)
        cfg["name"] = name
        cfg_path = os.path.join(runs_dir, f"{name}.json")
        if os.path.exists(os.path.join(runs_dir, name, "metrics.json")):
            # A kept run must be the run asked for: same base config, variant, sparsity, strength, ramp.
            kept = json.load(open(cfg_path)) if os.path.exists(cfg_path) else None
            if kept != cfg:
                sys.exit(f"ablation: {runs_dir}/{name} was run with another config than {cfg_path} now asks for "
                         f"(base config, --strength or --ramp-end changed?); remove {runs_dir}/{name} to run it again")
            print(f"ablation: [{k + 1}/{len(todo)}] {name}: done before, kept", flush=True)
        else:
            write(cfg_path, json.dumps(cfg, indent=1))
            pending.append((k, name, cfg_path))

    def train(job):
        k, name, cfg_path = job
        sys.stdout.write(f"ablation: [{k + 1}/{len(todo)}] {name}: training on {ranks} rank(s) ...\n"); sys.stdout.flush()
        with open(os.path.join(runs_dir, f"{name}.log"), "w") as log:
            code = subprocess.call(["bash", mpirun_local, "-np", str(ranks), binary,
                                    "train", cfg_path, "--runs-dir", runs_dir], stdout=log, stderr=subprocess.STDOUT)
        return name, code

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, code in pool.map(train, pending):
            if code != 0:
                tail = open(os.path.join(runs_dir, f"{name}.log")).read().strip().splitlines()[-5:]
                pool.shutdown(wait=True, cancel_futures=True)
                sys.exit(f"ablation: {name} failed (exit {code}); last lines of {runs_dir}/{name}.log:\n" + "\n".join(tail))
    rows = []
    for (v, s), name in zip(todo, names):
        m = json.load(open(os.path.join(runs_dir, name, "metrics.json")))
        row = {"variant": v, "target_sparsity": s,
               "accuracy": {l["layer"]: l["test"] for l in m["accuracy"]["layers"]},
               "compression": {l["name"]: l["compression_rate"] for l in m["compression"]["layers"]},
               "overall_rate": m["compression"]["overall_rate"],
               "dense_bytes": m["compression"].get("dense_bytes"), "sparse_bytes": m["compression"].get("sparse_bytes"),
               "best_layer": m["accuracy"]["best_layer"], "best_test": m["accuracy"]["best_test"],
               "seconds": sum(m["timings_seconds"].values())}
        rows.append(row)
        print(f"ablation: {name}: best {row['best_layer']} {row['best_test'] * 100:.2f} %, "
              f"{row['overall_rate'] * 100:.1f} % of conv weights pruned", flush=True)
    result = {"config": config, "name": base["name"], "ranks": ranks, "strength": strength, "ramp_end": ramp_end,
              "date": str(datetime.date.today()), "rows": rows}
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    write(out, json.dumps(result, indent=1))


def csv_lines(result):
    layers = list(result["rows"][0]["accuracy"])
    head = ["variant", "target_sparsity"] + [f"acc_{l}" for l in layers] + [f"pruned_{l}" for l in layers] + \
           ["pruned_overall", "dense_bytes", "sparse_bytes"]
    lines = [",".join(head)]
    for r in result["rows"]:
        lines.append(",".join([r["variant"], f"{r['target_sparsity']:.2f}"] +
                              [f"{r['accuracy'][l]:.4f}" for l in layers] +
                              [f"{r['compression'].get(l, 0):.4f}" for l in layers] +
                              [f"{r['overall_rate']:.4f}", str(r["dense_bytes"] or ""), str(r["sparse_bytes"] or "")]))
    return lines


def markdown_table(result):
    layers = list(result["rows"][0]["accuracy"])
    base = next((r for r in result["rows"] if r["variant"] == "baseline"), None)
    head = "| variant | target | " + " | ".join(f"{l} acc." for l in layers) + " | " + \
           " | ".join(f"{l} pruned" for l in layers) + " | all pruned | best vs baseline |"
    lines = [head, "|---|---|" + "---|" * (2 * len(layers) + 2)]
    for r in result["rows"]:
        delta = ""
        if base and r is not base:
            delta = f"{(r['best_test'] - base['best_test']) * 100:+.2f}"
        lines.append(f"| {LABELS[r['variant']]} | " + (f"{r['target_sparsity'] * 100:.0f} %" if r["variant"] != "baseline" else "") +
                     " | " + " | ".join(f"{r['accuracy'][l] * 100:.2f} %" for l in layers) +
                     " | " + " | ".join(f"{r['compression'].get(l, 0) * 100:.1f} %" for l in layers) +
                     f" | {r['overall_rate'] * 100:.1f} % | {delta} |")
    return lines


def plot_svg(result):
    """Best-layer test accuracy against the overall pruned fraction, one line per variant."""
    rows = [r for r in result["rows"] if r["variant"] != "baseline"]
    base = next((r for r in result["rows"] if r["variant"] == "baseline"), None)
    W, H, L, R, T, B = 700, 400, 70, 200, 30, 50
    accs = [r["best_test"] * 100 for r in result["rows"]]
    lo, hi = min(accs), max(accs)
    pad = max(0.1, (hi - lo) * 0.08)
    lo, hi = lo - pad, hi + pad
    xs = sorted({r["target_sparsity"] for r in rows}) or [0.5, 1]
    x0, x1 = min(xs) - 0.02, max(xs) + 0.02

    def X(v): return L + (v - x0) / (x1 - x0) * (W - L - R)
    def Y(v): return T + (hi - v) / (hi - lo) * (H - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">{result["name"]}: best-layer test accuracy against sparsity</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">conv weights pruned (%)</text>',
           f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + H - B) / 2})">test accuracy (%)</text>']
    for v in xs:
        out.append(f'<line x1="{X(v):.1f}" y1="{H - B}" x2="{X(v):.1f}" y2="{H - B + 5}" stroke="black"/>'
                   f'<text x="{X(v):.1f}" y="{H - B + 18}" text-anchor="middle">{v * 100:g}</text>')
    for k in range(6):
        v = lo + (hi - lo) * k / 5
        out.append(f'<line x1="{L - 5}" y1="{Y(v):.1f}" x2="{L}" y2="{Y(v):.1f}" stroke="black"/>'
                   f'<text x="{L - 8}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    legend = []
    if base:
        y = Y(base["best_test"] * 100)
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="black" stroke-dasharray="5,4"/>')
        legend.append(("baseline", "black", True))
    for v in ["pp", "dswr", "pp+dswr", "oneshot"]:
        pts = sorted((r["target_sparsity"], r["best_test"] * 100) for r in rows if r["variant"] == v)
        if not pts:
            continue
        path = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[v]}" stroke-width="2"/>')
        out += [f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="3" fill="{COLOURS[v]}"/>' for a, b in pts]
        legend.append((LABELS[v], COLOURS[v], False))
    for k, (label, colour, dashed) in enumerate(legend):
        y = T + 20 + 20 * k
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        out.append(f'<line x1="{W - R + 10}" y1="{y}" x2="{W - R + 35}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>'
                   f'<text x="{W - R + 40}" y="{y + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)


def write(path, text):
    """Atomically: a reader sees the old file or the whole new one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def render(results_dir, doc):
    import glob
    docs_dir = os.path.dirname(doc) or "."
    sections = ["# Compression: the ablation", "",
                "Written by `launch/ablation` (`tools/ablation.py`), from the results kept in `docs/ablation/`. "
                "Each conv layer is pruned by magnitude while it trains (unstructured, the smallest |w| of the whole "
                "layer first); the variants:", "",
                "- **PP**: progressive pruning, the target sparsity on a cubic ramp over the first part of the layer's epochs "
                "(the ramp's share is given with each result), then training goes on at the final sparsity;",
                "- **DSWR**: the final sparsity at once after the first epoch, the kept weights of every kernel reinforced "
                "(strength lambda; lambda = 1 gives back the L1 mass the step removed), training goes on;",
                "- **PP + DSWR**: the same ramp, with reinforcement at every step;",
                "- **one-shot after training**: the baseline's training, then magnitude pruning once after the last epoch, "
                "no training after it.", "",
                "Accuracy: the test accuracy of the SVM read-out of each layer; 'best vs baseline' compares the best layer's, "
                "in points. Pruned: fraction of the layer's weights (all: of every conv weight).", ""]
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        result = json.load(open(path))
        stem = os.path.splitext(os.path.basename(path))[0]
        write(os.path.join(results_dir, f"{stem}.csv"), "\n".join(csv_lines(result)) + "\n")
        svg = os.path.join(results_dir, f"{stem}.svg")
        write(svg, plot_svg(result))
        png = os.path.join(results_dir, f"{stem}.png")
        subprocess.check_call(["rsvg-convert", "-o", png + ".tmp", svg])
        os.replace(png + ".tmp", png)
        rel = os.path.relpath(results_dir, docs_dir)
        sections += [f"## {result['name']}", "",
                     f"`{result['config']}` on {result['ranks']} rank(s), DSWR strength {result['strength']:g}, "
                     f"PP ramp over the first {result.get('ramp_end', 1.0) * 100:g} % of each layer's epochs, {result['date']}. "
                     f"Data: [`{rel}/{stem}.csv`]({rel}/{stem}.csv).", ""]
        sections += markdown_table(result) + ["", f"![accuracy against sparsity]({rel}/{stem}.png)", ""]
        # What the numbers show, written by whoever ran the ablation, kept beside the results.
        notes = os.path.join(results_dir, f"{stem}.notes.md")
        if os.path.exists(notes):
            sections += [open(notes).read().strip(), ""]
    write(doc, "\n".join(sections))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        a = argparse.ArgumentParser(prog="ablation.py run")
        a.add_argument("config")
        a.add_argument("--ranks", type=int, default=1)
        a.add_argument("--sparsities", default="0.5,0.7,0.8,0.9,0.95,0.98")
        a.add_argument("--variants", default=",".join(VARIANTS))
        a.add_argument("--strength", type=float, default=1.0)
        a.add_argument("--ramp-end", type=float, default=0.5)
        a.add_argument("--jobs", type=int, default=1)
        a.add_argument("--runs-dir", required=True)
        a.add_argument("--out", required=True)
        o = a.parse_args(sys.argv[2:])
        run(o.config, o.ranks, o.sparsities, o.variants, o.strength, o.ramp_end, o.jobs, o.runs_dir, o.out)
    elif len(sys.argv) == 4 and sys.argv[1] == "render":
        render(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
