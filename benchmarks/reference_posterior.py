"""NPE against an exact posterior: the kick sub-model, NUTS reference vs the project's NPE.

Run (from the repository root)::

    .venv/bin/python benchmarks/reference_posterior.py [--sizes 1 16 256] \
        [--budget 100000 100000 20000] [--observations 10] [--cache DIR] \
        [--out docs/img/inference/reference]

For each pack size N in ``--sizes``:

1. train the project's NPE on ``--budget`` sets of N clips of the kick sub-model
   (:mod:`technorhythm.inference.kick_submodel`), θ from the uniform prior: by default
   (``--flow box``) the flow of the population model's pack network
   (:class:`technorhythm.inference.box_flow.BoxFlow`: logit, z-scoring, spline flow);
   ``--flow estimator`` the one-θ :class:`technorhythm.inference.PosteriorEstimator`
   (sbi's logit transform without z-scoring: its draws come no closer than 0.0067 of the
   range to a bound);
2. for ``--observations`` sets of N clips simulated at θ from the prior (another random
   stream), sample the exact posterior with NUTS (:mod:`technorhythm.posteriors.
   kick_reference`: 4 chains per stratum, R-hat ≤ 1.01 and bulk ESS ≥ 400 checked), draw
   as many NPE samples, and compare the two with sbi's ``c2st`` (random forest, 5 folds).
   The floor of that figure for draws of one and the same posterior is measured in the
   same run: C2ST between the two halves of each NUTS reference;
3. with ``--truncated-budget B`` (truncated sequential NPE, as swyft's box truncation and
   sbi's TSNPE): for each observation, a second round on ``B`` sets simulated at θ drawn
   uniformly from the box between the ``--truncation-quantile`` tail quantiles of the
   first round's draws for that observation (widened by ``--truncation-margin`` of its
   width on each side, clipped to the prior).
   A uniform prior truncated to a box that holds the posterior leaves the posterior
   unchanged, so the second round's flow estimates the same posterior at a finer scale.
   The amortised (first round) C2ST is kept next to it, and the share of NUTS draws
   outside the box is recorded (0 for a valid truncation).

Bar: median C2ST ≤ 0.55 at N = 16 and 256, ≤ 0.6 at N = 1. For scale, sbibm's NPE
(single round) has a mean C2ST over its 10 tasks of 0.84 / 0.74 / 0.65 at 10³ / 10⁴ /
10⁵ simulations (sbibm uses an MLP classifier and 10 000 draws). With ``--cache DIR`` the
NUTS references and the simulated training sets (both fixed by ``--seed``) are kept in DIR
and reused by later runs. Writes ``reference.csv`` (one row per observation),
``reference.json`` and figures to ``--out``; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.atomic import atomic_write_bytes
from technorhythm.inference import PosteriorEstimator
from technorhythm.inference import kick_submodel as km
from technorhythm.inference.box_flow import BoxFlow, truncated_box
from technorhythm.posteriors.kick_reference import KickReference, c2st
from technorhythm.threads import limit_threads

OUT_DEFAULT = Path(__file__).resolve().parents[1] / "docs" / "img" / "inference" / "reference"
OBSERVATION_START = 1 << 40
"""First clip index of the observed sets: far from every training clip."""
SBIBM_NPE = {1_000: 0.84, 10_000: 0.74, 100_000: 0.65}
"""sbibm (Lueckmann et al. 2021): NPE's mean C2ST over its 10 tasks per simulation budget."""
BAR = {1: 0.6}
BAR_DEFAULT = 0.55
DIAGNOSTICS = ("rhat_max", "ess_bulk_min", "divergences", "strata", "main_weight", "nuts_s")


def prior_draws(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of the uniform prior over the sub-model's box."""
    box = km.bounds()
    return box[:, 0] + rng.random((n, len(box))) * (box[:, 1] - box[:, 0])


def observations(n_clips: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """θ (count, 3) from the prior and the kick rows (count, n_clips, 4, 16) of one set each."""
    rng = np.random.default_rng([seed, n_clips, 2])
    theta = np.concatenate([prior_draws(1, rng) for _ in range(count)])
    rows = np.concatenate(
        [
            km.simulate_rows(
                theta[i], n_clips, seed=seed + 7, start_index=OBSERVATION_START + i * n_clips
            )
            for i in range(count)
        ]
    )
    return theta, rows


def _save_npz(path: Path, **arrays) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def references(n_clips: int, args) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], pd.DataFrame]:
    """θ, rows, NUTS draws and diagnostics of every observation (from the cache if there)."""
    theta, rows = observations(n_clips, args.observations, args.seed)
    path = Path(args.cache) / f"nuts_N{n_clips}_seed{args.seed}.npz" if args.cache else None
    draws, diag = [], []
    if path is not None and path.exists():
        cached = np.load(path)
        known = min(len(cached["theta"]), args.observations)
        if not np.array_equal(cached["theta"][:known], theta[:known]):
            raise ValueError(f"{path} holds other observations; remove it")
        draws = [cached[f"draws{i}"] for i in range(known)]
        diag = pd.DataFrame(cached["diagnostics"][:known], columns=DIAGNOSTICS).to_dict("records")
    reference = KickReference()
    for i in range(len(draws), args.observations):
        post = reference.posterior(rows[i], seed=args.seed + i, n_draws=args.draws)
        s = post.strata
        diag.append(
            {
                "rhat_max": float(s["rhat_max"].max()),
                "ess_bulk_min": float(s["ess_bulk_min"].min()),
                "divergences": float(s["divergences"].sum()),
                "strata": float(len(s)),
                "main_weight": float(s["weight"].max()),
                "nuts_s": post.seconds,
            }
        )
        draws.append(post.draws)
        print(
            f"N = {n_clips}, observation {i}: NUTS {len(s)} strata, R-hat "
            f"{diag[-1]['rhat_max']:.3f}, ESS {diag[-1]['ess_bulk_min']:.0f}, "
            f"{diag[-1]['divergences']:.0f} divergences, {len(post.draws)} draws, "
            f"{post.seconds:.0f} s",
            flush=True,
        )
        if path is not None:
            table = pd.DataFrame(diag, columns=DIAGNOSTICS).to_numpy(dtype=np.float64)
            _save_npz(
                path,
                theta=theta[: i + 1],
                diagnostics=table,
                **{f"draws{j}": d for j, d in enumerate(draws)},
            )
    return theta, rows, draws, pd.DataFrame(diag, columns=DIAGNOSTICS)


def training_set(n_clips: int, budget: int, args) -> tuple[np.ndarray, np.ndarray]:
    """``budget`` θ from the prior and the summaries of one simulated set of N clips each."""
    path = (
        Path(args.cache) / f"train_N{n_clips}_B{budget}_seed{args.seed}.npz" if args.cache else None
    )
    if path is not None and path.exists():
        cached = np.load(path)
        return cached["theta"], cached["x"]
    rng = np.random.default_rng([args.seed, n_clips, 1])
    theta = prior_draws(budget, rng)
    x = km.simulate_summaries(theta, n_clips, seed=args.seed + n_clips)
    if path is not None:
        _save_npz(path, theta=theta, x=x)
    return theta, x


NPE_SETTINGS = (
    "flow",
    "estimator",
    "hidden_features",
    "num_transforms",
    "num_bins",
    "batch_size",
    "learning_rate",
    "max_epochs",
)


def _flow_settings(args, **overrides) -> dict:
    """The command line's network and training settings (``overrides`` replace entries)."""
    settings = dict(
        hidden_features=args.hidden_features,
        num_transforms=args.num_transforms,
        num_bins=args.num_bins,
        training_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_num_epochs=args.max_epochs,
        stop_after_epochs=args.stop_after_epochs,
        seed=args.seed,
    )
    if args.anneal_epochs:  # the box flow's ConditionalFlow only (checked in main)
        settings.update(anneal_epochs=args.anneal_epochs, anneal_factor=args.anneal_factor)
    return {**settings, **overrides}


def _new_estimator(args):
    """The NPE of ``--flow`` with the command line's network and training settings."""
    settings = _flow_settings(args)
    if args.flow == "box":
        return BoxFlow(km.bounds(), **settings)
    return PosteriorEstimator(
        bounds=km.bounds(), names=km.KNOBS, estimator=args.estimator, **settings
    )


def _history(est) -> dict:
    if isinstance(est, BoxFlow):
        return {
            "epochs": est.history_["epochs_trained"],
            "best_validation_loss_logit_space": round(est.history_["best_validation_loss"], 4),
        }
    return {
        "epochs": est.training_history_["epochs_trained"],
        "best_validation_loss": round(est.training_history_["best_validation_loss"], 4),
    }


def train(n_clips: int, budget: int, args) -> tuple[PosteriorEstimator | BoxFlow, dict]:
    """The NPE of the sub-model for sets of ``n_clips`` clips, and its training record
    (trained once per N, budget, settings and seed when ``--cache`` is given)."""
    key = "_".join(str(getattr(args, k)) for k in NPE_SETTINGS)
    if args.stop_after_epochs != 20:
        key += f"_stop{args.stop_after_epochs}"
    if args.anneal_epochs:
        key += f"_anneal{args.anneal_epochs}x{args.anneal_factor}"
    folder = (
        Path(args.cache) / f"npe_N{n_clips}_B{budget}_{key}_seed{args.seed}" if args.cache else None
    )
    load = BoxFlow.load if args.flow == "box" else PosteriorEstimator.load
    if folder is not None and (folder / "training.json").exists():
        record = json.loads((folder / "training.json").read_text())
        return load(folder), {**record, "cached": True}
    t0 = time.perf_counter()
    theta, x = training_set(n_clips, budget, args)
    t_sim = time.perf_counter() - t0
    est = _new_estimator(args)
    t0 = time.perf_counter()
    est.fit(theta, x)
    record = {
        "budget": budget,
        "flow": args.flow,
        "simulate_s": round(t_sim, 1),
        "train_s": round(time.perf_counter() - t0, 1),
        **_history(est),
    }
    if folder is not None:
        if args.flow == "box":
            est.save(folder)
        else:
            est.save(folder, overwrite=True)
        (folder / "training.json").write_text(json.dumps(record) + "\n")
    return est, record


def truncated_round(est, n_clips: int, x_obs: np.ndarray, i: int, budget: int, args) -> tuple:
    """Second round for observation ``i``: (flow, box, record), trained on
    ``budget`` sets at θ uniform in the box of the first round's draws (cached
    per observation when ``--cache`` is given)."""
    first = est.sample(x_obs, args.truncation_draws, seed=args.seed + 500 + i)
    box = truncated_box(
        first, km.bounds(), quantile=args.truncation_quantile, margin=args.truncation_margin
    )
    key = (
        f"trunc_N{n_clips}_B{budget}_m{args.truncation_margin}"
        f"_q{args.truncation_quantile}"
        f"_b{args.truncated_batch_size}_{args.learning_rate}_stop{args.stop_after_epochs}"
        f"_obs{i}_seed{args.seed}"
    )
    folder = Path(args.cache) / key if args.cache else None
    if folder is not None and (folder / "training.json").exists():
        record = json.loads((folder / "training.json").read_text())
        if np.allclose(record["box"], box):
            return BoxFlow.load(folder), box, {**record, "cached": True}
    rng = np.random.default_rng([args.seed, n_clips, 3, i])
    theta = box[:, 0] + rng.random((budget, len(box))) * (box[:, 1] - box[:, 0])
    t0 = time.perf_counter()
    x = km.simulate_summaries(theta, n_clips, seed=args.seed + 1_000 + i)
    t_sim = time.perf_counter() - t0
    flow = BoxFlow(
        box,
        **_flow_settings(args, training_batch_size=args.truncated_batch_size, seed=args.seed + i),
    )
    t0 = time.perf_counter()
    flow.fit(theta, x)
    record = {
        "budget": budget,
        "box": box.tolist(),
        "box_share_of_prior": float(np.prod(np.diff(box) / np.diff(km.bounds()))),
        "simulate_s": round(t_sim, 1),
        "train_s": round(time.perf_counter() - t0, 1),
        **_history(flow),
    }
    if folder is not None:
        flow.save(folder)
        (folder / "training.json").write_text(json.dumps(record) + "\n")
    return flow, box, record


def compare(est, n_clips: int, refs, args, *, truncated: int = 0) -> list[dict]:
    """C2ST of NPE against NUTS, and of NUTS against itself, per observation (after a
    truncated round of ``truncated`` sets per observation when > 0)."""
    theta, rows, draws, diag = refs
    x = km.summaries(rows)
    out = []
    for i in range(len(theta)):
        nuts = draws[i]
        npe = est.sample(x[i], len(nuts), seed=args.seed + i)
        half = len(nuts) // 2
        row = {
            "n_clips": n_clips,
            "observation": i,
            **{f"true_{k}": float(v) for k, v in zip(km.KNOBS, theta[i], strict=True)},
            "c2st": c2st(nuts, npe, seed=args.seed + i),
            "c2st_nuts_halves": c2st(nuts[:half], nuts[half:], seed=args.seed + i),
            "n_draws": len(nuts),
            **diag.iloc[i].to_dict(),
        }
        if truncated:
            flow, box, record = truncated_round(est, n_clips, x[i], i, truncated, args)
            npe = flow.sample(x[i], len(nuts), seed=args.seed + i)
            inside = np.all((nuts >= box[:, 0]) & (nuts <= box[:, 1]), axis=1)
            row.update(
                {
                    "c2st_amortised": row["c2st"],
                    "c2st": c2st(nuts, npe, seed=args.seed + i),
                    "nuts_outside_box": float(1.0 - inside.mean()),
                    "box_share_of_prior": record["box_share_of_prior"],
                    "truncated_epochs": record["epochs"],
                    "truncated_train_s": record["train_s"],
                    "truncated_simulate_s": record["simulate_s"],
                }
            )
        for name, d in (("nuts", nuts), ("npe", npe)):
            row.update(
                {f"{name}_mean_{k}": float(v) for k, v in zip(km.KNOBS, d.mean(0), strict=True)}
            )
            row.update(
                {f"{name}_sd_{k}": float(v) for k, v in zip(km.KNOBS, d.std(0), strict=True)}
            )
        out.append(row)
        if truncated:
            print(
                f"N = {n_clips}, observation {i}: amortised C2ST {row['c2st_amortised']:.3f}; "
                f"truncated to {row['box_share_of_prior']:.2e} of the prior "
                f"({row['nuts_outside_box']:.4f} of NUTS draws outside)",
                flush=True,
            )
        print(
            f"N = {n_clips}, observation {i}: C2ST NPE vs NUTS {row['c2st']:.3f} "
            f"(NUTS halves {row['c2st_nuts_halves']:.3f}); θ = {np.round(theta[i], 3).tolist()}",
            flush=True,
        )
        if i == 0:
            plot_marginals(
                nuts,
                npe,
                theta[i],
                Path(args.out) / f"marginals_N{n_clips}.png",
                title=f"N = {n_clips}",
            )
    return out


def plot_marginals(nuts, npe, truth, path: Path, *, title: str) -> None:
    """Histograms of every knob: NUTS (exact) and NPE draws, the true value as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from technorhythm.figures import save_figure

    fig, axes = plt.subplots(1, 3, figsize=(9, 2.6))
    for j, ax in enumerate(axes):
        lo, hi = np.quantile(np.concatenate([nuts[:, j], npe[:, j]]), [0.001, 0.999])
        bins = np.linspace(lo, hi, 40)
        ax.hist(nuts[:, j], bins, density=True, alpha=0.5, label="NUTS (exact)")
        ax.hist(npe[:, j], bins, density=True, histtype="step", lw=1.5, label="NPE")
        ax.axvline(truth[j], color="k", lw=0.8)
        ax.set_title(km.KNOBS[j], fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"kick sub-model, {title}: posterior of one simulated set", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def plot_c2st(table: pd.DataFrame, path: Path, *, budgets: dict, truncated: dict) -> None:
    """C2ST of every observation per N, with the bar, the NUTS floor and sbibm's NPE means
    (and the amortised round's C2ST where a truncated round followed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from technorhythm.figures import save_figure

    sizes = sorted(table["n_clips"].unique())
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for i, n in enumerate(sizes):
        part = table[table["n_clips"] == n]
        jitter = np.linspace(-0.12, 0.12, len(part))
        ax.scatter(
            i + jitter, part["c2st"], s=14, color="C0", label="NPE vs NUTS" if i == 0 else None
        )
        ax.scatter(
            i + jitter, part["c2st_nuts_halves"], s=10, color="0.5", marker="x",
            label="NUTS half vs half" if i == 0 else None,
        )  # fmt: skip
        if truncated.get(int(n)):
            first = int(n) == min(k for k, v in truncated.items() if v)
            ax.scatter(
                i + jitter, part["c2st_amortised"], s=14, facecolors="none", edgecolors="C1",
                label="amortised round only" if first else None,
            )  # fmt: skip
        ax.hlines(part["c2st"].median(), i - 0.25, i + 0.25, color="C0", lw=2)
        ax.hlines(BAR.get(int(n), BAR_DEFAULT), i - 0.3, i + 0.3, color="C3", ls="--", lw=1)
    for sims, value in SBIBM_NPE.items():
        ax.axhline(value, color="0.6", lw=0.8, ls=":")
        ax.text(-0.45, value, f"sbibm NPE, {sims:.0e} sims", fontsize=7, va="bottom")
    ax.axhline(0.5, color="k", lw=0.6)
    labels = [
        f"N = {n}\n{budgets[int(n)]:.0e} sims"
        + (f"\n+ {truncated[int(n)]:.0e}/obs, truncated" if truncated.get(int(n)) else "")
        for n in sizes
    ]
    ax.set_xticks(range(len(sizes)), labels, fontsize=8)
    ax.set_ylabel("C2ST accuracy")
    ax.set_ylim(0.45, 1.0)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("kick sub-model: NPE against the exact (NUTS) posterior", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def summarize(table: pd.DataFrame, training: dict) -> dict:
    """Per N: median/mean/max C2ST, the bar, the NUTS floor and convergence."""
    summary = {}
    for n, part in table.groupby("n_clips"):
        bar = BAR.get(int(n), BAR_DEFAULT)
        med = float(part["c2st"].median())
        summary[f"N{n}"] = {
            "median_c2st": round(med, 3),
            "mean_c2st": round(float(part["c2st"].mean()), 3),
            "max_c2st": round(float(part["c2st"].max()), 3),
            "median_c2st_nuts_halves": round(float(part["c2st_nuts_halves"].median()), 3),
            **(
                {
                    "median_c2st_amortised": round(float(part["c2st_amortised"].median()), 3),
                    "max_nuts_outside_box": float(part["nuts_outside_box"].max()),
                    "median_box_share_of_prior": float(part["box_share_of_prior"].median()),
                }
                if "c2st_amortised" in part and part["c2st_amortised"].notna().all()
                else {}
            ),
            "bar": bar,
            "meets_bar": med <= bar,
            "rhat_max": round(float(part["rhat_max"].max()), 4),
            "ess_bulk_min": round(float(part["ess_bulk_min"].min()), 1),
            "divergences": int(part["divergences"].sum()),  # NaN: not recorded
            "divergences_unrecorded": int(part["divergences"].isna().sum()),
            "training": training[int(n)],
        }
        print(
            f"N = {n}: median C2ST {med:.3f} (bar ≤ {bar}), mean {part['c2st'].mean():.3f}, "
            f"max {part['c2st'].max():.3f}; NUTS halves median "
            f"{part['c2st_nuts_halves'].median():.3f}; NUTS R-hat ≤ {part['rhat_max'].max():.3f}, "
            f"bulk ESS ≥ {part['ess_bulk_min'].min():.0f}",
            flush=True,
        )
    return summary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument(
        "--budget", type=int, nargs="+", default=[100_000],
        help="NPE training sets per N: one value, or one per size",
    )  # fmt: skip
    parser.add_argument("--observations", type=int, default=10)
    parser.add_argument("--draws", type=int, default=4000, help="NUTS draws kept at most")
    parser.add_argument(
        "--flow", choices=("box", "estimator"), default="box",
        help="box: the population model's flow; estimator: the one-θ PosteriorEstimator",
    )  # fmt: skip
    parser.add_argument(
        "--estimator", choices=("nsf", "maf"), default="nsf", help="--flow estimator only"
    )
    parser.add_argument("--hidden-features", type=int, default=64)
    parser.add_argument("--num-transforms", type=int, default=5)
    parser.add_argument("--num-bins", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--stop-after-epochs", type=int, default=20)
    parser.add_argument(
        "--anneal-epochs", type=int, default=0,
        help="--flow box: epochs at --anneal-factor times the rate after training stops",
    )  # fmt: skip
    parser.add_argument("--anneal-factor", type=float, default=0.2)
    parser.add_argument(
        "--truncated-budget", type=int, nargs="+", default=[0],
        help="sets of a second, truncated round per observation (0: amortised NPE only): "
        "one value, or one per size",
    )  # fmt: skip
    parser.add_argument("--truncated-batch-size", type=int, default=256)
    parser.add_argument(
        "--truncation-margin", type=float, default=0.5,
        help="widen the box of the first round's draws by this share of its width per side",
    )  # fmt: skip
    parser.add_argument(
        "--truncation-quantile", type=float, default=1e-3,
        help="the box spans these tail quantiles of the first round's draws",
    )  # fmt: skip
    parser.add_argument("--truncation-draws", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--cache", help="folder for NUTS references and training sets")
    parser.add_argument(
        "--references-only", action="store_true", help="only sample (and cache) the references"
    )
    parser.add_argument("--out", default=str(OUT_DEFAULT))
    args = parser.parse_args(argv)
    for name in ("budget", "truncated_budget"):
        if len(getattr(args, name)) not in (1, len(args.sizes)):
            parser.error(f"--{name.replace('_', '-')} takes one value or one per size")
    if args.anneal_epochs and args.flow != "box":
        parser.error("--anneal-epochs needs --flow box")
    if args.cache:
        Path(args.cache).mkdir(parents=True, exist_ok=True)
    return args


def per_size(args, values: list[int]) -> dict[int, int]:
    """One value per size in ``--sizes`` from a list of one value or one per size."""
    values = values * len(args.sizes) if len(values) == 1 else values
    return dict(zip(args.sizes, values, strict=True))


def main(argv=None) -> None:
    args = parse_args(argv)
    budgets = per_size(args, args.budget)
    truncated = per_size(args, args.truncated_budget)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore", category=UserWarning)
    logging.getLogger("pymc").setLevel(logging.WARNING)
    rows, training = [], {}
    with limit_threads(1):
        for n in args.sizes:
            refs = references(n, args)
            if args.references_only:
                print(json.dumps({f"N{n}": refs[3].describe().loc[["min", "max"]].to_dict()}))
                continue
            est, record = train(n, budgets[n], args)
            training[n] = record
            print(f"N = {n}: NPE trained on {budgets[n]} sets: {record}", flush=True)
            rows += compare(est, n, refs, args, truncated=truncated[n])
    if args.references_only:
        return
    table = pd.DataFrame(rows)
    table.to_csv(Path(args.out) / "reference.csv", index=False, float_format="%.5g")
    result = {
        "observations": args.observations,
        "seed": args.seed,
        "npe": {
            **{k: getattr(args, k) for k in NPE_SETTINGS},
            "anneal_epochs": args.anneal_epochs,
            "anneal_factor": args.anneal_factor,
        },
        "truncated": {
            "budget_per_size": truncated,
            **{
                k: getattr(args, k)
                for k in (
                    "truncated_batch_size",
                    "truncation_margin",
                    "truncation_quantile",
                    "truncation_draws",
                )
            },
        },
        "sbibm_npe_mean_c2st": SBIBM_NPE,
        **summarize(table, training),
    }
    (Path(args.out) / "reference.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_c2st(table, Path(args.out) / "c2st.png", budgets=budgets, truncated=truncated)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
