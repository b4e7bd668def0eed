import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from scoredyn.plots.training import loss_curve


def test_loss_curve_draws_every_series_and_the_reference():
    df = pd.DataFrame({"step": [10, 20], "train_loss": [0.9, 0.5], "val_loss": [0.95, 0.6],
                       "val_loss_tau_0_0.5": [0.99, 0.8], "val_loss_tau_0.5_1": [0.7, 0.3]})  # fmt: skip
    fig, ax = plt.subplots()
    out = loss_curve(df, ax)
    labels = [line.get_label() for line in out.get_lines()]
    assert labels == ["training", "validation (EMA)", "validation, 0 <= tau < 0.5", "validation, 0.5 <= tau < 1",
                      "zero-noise prediction"]  # fmt: skip
    assert out.get_yscale() == "log"
    plt.close(fig)


def test_bars_write_each_value_and_its_note():
    from scoredyn.plots.speed import bars

    fig, ax = plt.subplots()
    bars(["MD", "SD"], [100.0, 1000.0], ["0.15", "C1"], ax, "ns/day", notes=["(whole job 50)", ""])
    assert [t.get_text() for t in ax.texts] == [" 100 (whole job 50)", " 1k"]
    assert ax.get_xscale() == "log"
    plt.close(fig)


def test_core_sets_wrap_at_180_degrees_and_are_outlined():
    from scoredyn.plots.dihedrals import core_boxes, core_spans, wrapped

    assert wrapped(110, 190) == [(110.0, 180.0), (-180.0, -170.0)]
    assert wrapped(150, 210) == [(150.0, 180.0), (-180.0, -150.0)]
    assert wrapped(-85, -35) == [(-85.0, -35.0)]
    assert wrapped(-200, -150) == [(160.0, 180.0), (-180.0, -150.0)]
    assert wrapped(-180, 180) == [(-180.0, 180.0)]
    fig, (a, b) = plt.subplots(1, 2)
    core_boxes(a, {"alpha": ([(-120, -40)], [(-80, 0)]), "beta": ([(-170, -50)], [(110, 190)])})
    assert len(a.patches) == 3  # beta's psi range crosses 180: two boxes
    core_spans(b, {"trans": [(150, 210)], "gauche": [(35, 85), (-85, -35)]})
    assert len(b.patches) == 4 and sorted(t.get_text() for t in b.texts) == ["gauche", "gauche", "trans", "trans"]
    plt.close(fig)


def test_linear_bars_get_few_short_tick_labels():
    from scoredyn.plots.speed import bars, compact

    assert [compact(v) for v in (120000.0, 2.5e6, 0.25, 0.0, 999.0)] == ["120k", "2.5M", "0.25", "0", "999"]
    fig, ax = plt.subplots()
    bars(["a", "b"], [100000.0, 120000.0], ["C0", "C1"], ax, "moves", log=False)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert 2 <= len(labels) <= 6 and all(len(t) <= 5 for t in labels), labels
    plt.close(fig)


def test_speed_figure_has_a_colour_legend_per_panel():
    from scoredyn.evaluation.figures import speed_figure

    table = pd.DataFrame({"label": ["MD", "SD", "DFF"], "method": ["MD", "SD", "DFF"],
                          "ns_per_day": [100.0, 2000.0, 300.0], "job_ns_per_day": [90.0, 1500.0, 250.0],
                          "rejections_per_100k": [float("nan"), 120000.0, 0.0],
                          "violations_per_100k": [float("nan"), 100000.0, 5.0]})  # fmt: skip
    fig = speed_figure(table)
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["MD", "SD", "DFF"]
    assert [t.get_text() for t in bottom.get_legend().get_texts()] == [
        "SD: rejected and redrawn", "DFF: rejected and redrawn", "violating a check, kept"]  # fmt: skip
    plt.close(fig)


def _sweep_rows(steps: int) -> pd.DataFrame:
    rows = []
    for label, nfe, jsd, speed in (("dpm3x20", 60, 0.05, 900.0), ("dpmpp2mx5", 10, 0.2, 800.0)):
        m = f"SD[{label}]"
        rows += [("solver", m, "evaluations_per_step", nfe), ("solver", m, "ns_per_day", speed),
                 ("solver", m, "steps", steps), ("phi/psi", f"{m} vs MD", "jsd_nats", jsd)]  # fmt: skip
    rows.append(("phi/psi", "MD split-half", "jsd_nats", 0.03))
    return pd.DataFrame(rows, columns=["observable", "method", "statistic", "value"])


def test_a_sweep_of_short_runs_warns_that_its_speeds_are_start_up():
    from scoredyn.evaluation.figures import sweep_figure

    short, long = sweep_figure(_sweep_rows(20)), sweep_figure(_sweep_rows(5000))
    assert "start-up dominates" in short.axes[1].get_title()
    assert long.axes[1].get_title() == ""
    plt.close("all")


def test_the_training_size_figure_draws_each_rollout_s_own_noise_beside_its_jsd():
    from scoredyn.evaluation.figures import training_size_figure

    rows = [("phi/psi", "MD split-half", "jsd_nats", 0.09)]
    for size, pairs, jsd, own in (("0.1", 861, 0.36, 0.11), ("1", 8538, 0.2, 0.28)):
        rows += [("training size", f"SD[{size}]", "train_pairs", pairs),
                 ("phi/psi", f"SD[{size}] vs MD", "jsd_nats", jsd),
                 ("phi/psi", f"SD[{size}] split-half", "jsd_nats", own)]  # fmt: skip
    fig = training_size_figure(pd.DataFrame(rows, columns=["observable", "method", "statistic", "value"]), "t")
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["SD split-half (its own noise)"].get_ydata()) == [0.11, 0.28]
    assert list(lines["SD against MD"].get_ydata()) == [0.36, 0.2]
    assert ax.get_ylim()[1] > 0.36 * 1.3  # room for the legend above the highest point
    plt.close(fig)


def test_a_first_passage_legend_sits_above_the_tallest_bar(rng):
    import numpy as np

    from scoredyn.plots.kinetics import fpt_histogram

    fig, ax = plt.subplots()
    samples = {"MD": rng.exponential(50, 20), "SD": rng.exponential(40, 20)}
    fpt_histogram(samples, {m: (s.mean(), s.min(), s.max()) for m, s in samples.items()}, ax, "a -> b")
    edges = np.histogram_bin_edges(np.concatenate(list(samples.values())), bins=20)
    tallest = max(np.histogram(s, bins=edges, density=True)[0].max() for s in samples.values())
    assert ax.get_ylim()[1] >= 1.4 * tallest
    plt.close(fig)


def test_a_saved_png_is_a_palette_image_a_third_the_size_that_keeps_the_plot(tmp_path, rng):
    import io

    import numpy as np
    from PIL import Image

    from scoredyn.figure_file import save_figure

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(*rng.normal(size=(2, 5000)), s=2, alpha=0.5, rasterized=True)
    ax.plot([0, 1], [0, 1], color="C1")
    full = io.BytesIO()
    fig.savefig(full, format="png", dpi=150)
    save_figure(fig, tmp_path / "f.png")
    plt.close(fig)
    image, reference = Image.open(tmp_path / "f.png"), Image.open(full)
    assert image.mode == "P" and image.size == reference.size
    assert (tmp_path / "f.png").stat().st_size < 0.6 * len(full.getvalue())
    diff = np.abs(np.asarray(image.convert("RGB"), float) - np.asarray(reference.convert("RGB"), float))
    assert diff.mean() < 2.0  # the same picture, to a few levels of 255
