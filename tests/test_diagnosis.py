"""The diagnosis line, on hand-made learning curves of each kind the course shows."""

import math
import subprocess
import sys

from layerlab.core.diagnosis import diagnose


def _history(loss, val=None):
    if val is None:
        return [{"loss": a} for a in loss]
    return [{"loss": a, "val_loss": b} for a, b in zip(loss, val, strict=True)]


def test_no_epoch_and_short_histories_are_starting():
    assert diagnose([]).kind == "starting"
    result = diagnose(_history([0.9, 0.5], [1.0, 0.6]))
    assert result.kind == "starting"
    assert "2 epochs" in result.text


def test_falling_validation_loss_is_still_improving_with_its_percentage():
    val = [1.0, 0.8, 0.7, 0.6, 0.55, 0.5, 0.44]
    loss = [v - 0.05 for v in val]
    result = diagnose(_history(loss, val))
    assert result.kind == "improving"
    # from 0.8 five epochs before the last to 0.44: 45%
    assert result.text == "still improving: val_loss fell 45% over the last 5 epochs"


def test_rising_validation_loss_while_training_falls_is_overfitting_with_the_gap():
    loss = [0.50, 0.40, 0.30, 0.25, 0.20, 0.16, 0.13, 0.11]
    val = [0.52, 0.42, 0.34, 0.33, 0.335, 0.34, 0.345, 0.35]
    result = diagnose(_history(loss, val))
    assert result.kind == "overfitting"
    assert "rising for 4 epochs" in result.text
    assert "gap 0.24" in result.text
    assert "early stopping or dropout" in result.text


def test_overfitting_with_patience_says_when_early_stopping_ends_it():
    loss = [0.50, 0.40, 0.30, 0.25, 0.20, 0.16, 0.13, 0.11]
    val = [0.52, 0.42, 0.34, 0.33, 0.335, 0.34, 0.345, 0.35]
    result = diagnose(_history(loss, val), patience=5)
    assert "patience 5" in result.text and "in 1 epoch" in result.text


def test_rising_counts_from_early_stoppings_best_when_min_delta_is_set():
    loss = [0.50, 0.40, 0.30, 0.25, 0.20, 0.16, 0.13, 0.11, 0.10]
    # 0.34 at epoch 3, then 0.3395 and 0.3391: lower, but by less than min_delta 0.001.
    val = [0.52, 0.42, 0.34, 0.3395, 0.3391, 0.345, 0.35, 0.355, 0.36]
    plain = diagnose(_history(loss, val), patience=10)
    assert "rising for 4 epochs" in plain.text and "in 6 epochs" in plain.text
    counted = diagnose(_history(loss, val), patience=10, min_delta=0.001)
    assert "rising for 6 epochs" in counted.text and "in 4 epochs" in counted.text


def test_a_finished_run_is_described_as_finished():
    loss = [0.50, 0.40, 0.30, 0.25, 0.20, 0.16, 0.13, 0.11]
    val = [0.52, 0.42, 0.34, 0.33, 0.335, 0.34, 0.345, 0.35]
    ended = diagnose(_history(loss, val), patience=5, ended="early_stopping")
    assert ended.kind == "overfitting"
    assert "ends it in" not in ended.text  # nothing is left to come
    assert ended.text.startswith("overfitted: validation loss stopped improving after epoch 4")
    assert ended.text.endswith("early stopping ended the run")
    falling = [1.0, 0.8, 0.7, 0.6, 0.55, 0.5, 0.44]
    still = diagnose(_history([v - 0.05 for v in falling], falling), ended="completed")
    assert still.text.startswith("at the end: still improving")
    assert still.text.endswith("more epochs would help")


def test_a_noisy_bump_in_validation_loss_is_not_overfitting():
    loss = [0.50, 0.40, 0.30, 0.25, 0.20, 0.16, 0.13, 0.11]
    val = [0.52, 0.42, 0.34, 0.3300, 0.3301, 0.3302, 0.3301, 0.3302]  # within RISE_REL of the best
    assert diagnose(_history(loss, val)).kind != "overfitting"


def test_flat_curves_close_together_are_underfitting():
    loss = [0.30, 0.20, 0.181, 0.180, 0.180, 0.1799, 0.180, 0.1801]
    val = [0.31, 0.21, 0.19, 0.189, 0.189, 0.189, 0.1889, 0.189]
    result = diagnose(_history(loss, val))
    assert result.kind == "underfitting"
    assert "add capacity" in result.text and "gap 0.009" in result.text


def test_flat_validation_far_above_training_is_flat_not_underfitting():
    loss = [0.30, 0.20, 0.10, 0.09, 0.09, 0.09, 0.09, 0.09]
    val = [0.35, 0.30, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]
    result = diagnose(_history(loss, val))
    assert result.kind == "flat"
    assert "gap 0.16" in result.text


def test_without_validation_the_training_loss_alone_is_read():
    assert diagnose(_history([1.0, 0.8, 0.6, 0.5])).kind == "improving"
    flat = diagnose(_history([1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]))
    assert flat.kind == "flat"
    assert "validation" in flat.text


def test_nan_loss_is_diverged_even_on_the_first_epoch():
    assert diagnose([{"loss": math.nan}]).kind == "diverged"
    result = diagnose(_history([0.5, 0.4, math.nan], [0.5, 0.4, math.nan]))
    assert result.text == "diverged: the loss is NaN — lower the learning rate"
    assert diagnose(_history([0.5, 0.4, 0.3], [0.5, 0.4, math.nan])).kind == "diverged"


def test_validation_every_other_epoch_is_not_read_as_nan():
    history = _history([1.0, 0.8, 0.6, 0.5, 0.4, 0.35], [1.1, 0.9, 0.7, 0.6, 0.5, 0.45])
    for logs in history[1::2]:
        del logs["val_loss"]
    result = diagnose(history)
    assert result.kind == "improving" and "val_loss" in result.text


def test_a_loss_growing_far_above_its_start_is_diverged():
    result = diagnose(_history([1.0, 2.0, 8.0, 40.0]))
    assert result.kind == "diverged"
    assert "40.0×" in result.text


def test_nan_and_missing_values_in_the_middle_are_skipped():
    val = [1.0, 0.8, math.nan, 0.6, 0.5]
    history = _history([0.9, 0.7, 0.6, 0.5, 0.4], val)
    del history[1]["val_loss"]
    history[2]["loss"] = "n/a"
    assert diagnose(history).kind == "improving"


def test_the_module_loads_without_keras_or_a_ui():
    code = (
        "import sys, layerlab.core.diagnosis; "
        "bad = [m for m in ('keras', 'tensorflow', 'textual', 'plotext') if m in sys.modules]; "
        "print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
