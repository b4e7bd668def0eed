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
    assert [t.get_text() for t in ax.texts] == [" 100 (whole job 50)", " 1e+03"]
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
