"""The experiment spec: round trips, and every kind of validation error names file, key and what is allowed."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layerlab.core import spec as specs
from layerlab.core.catalog import LAYERS
from layerlab.core.examples import list_examples


def test_every_example_round_trips(tmp_path):
    examples = list_examples()
    assert len(examples) >= 7
    for example in examples:
        spec = specs.load(example.path)
        saved = specs.save(spec, tmp_path / f"{example.name}.toml")
        assert specs.load(saved) == spec, example.name


def test_relative_data_path_resolves_against_the_spec_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "exp.toml"
    path.write_text('[data]\npath = "wine.csv"\ntarget = "quality"\n')
    assert specs.load(path).data_path() == tmp_path / "sub" / "wine.csv"


def test_defaults_fill_what_the_file_leaves_out():
    spec = specs.loads('[[layers]]\ntype = "Dense"\nunits = 1\n', "exp.toml")
    assert spec.name == "exp"
    assert spec.compile.loss == "auto" and spec.fit.early_stopping is None
    assert spec.layers[0].params == {"units": 1}


def test_cpu_replicas_round_trip_and_the_default_stays_out_of_saved_specs():
    text = '[accelerator]\ndevice = "cpu"\nstrategy = "mirrored"\nreplicas = 4\n'
    spec = specs.loads(text)
    assert spec.accelerator.replicas == 4
    assert specs.loads(spec.to_toml()) == spec
    assert "replicas" not in specs.loads("").to_toml()


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        ('[[layers]]\ntype = "Dense"\nunits = 0', "layers[0].units", ">= 1"),
        (
            '[[layers]]\ntype = "Dense"\nunits = 4\n[[layers]]\ntype = "Dropout"\nrate = 1.0',
            "layers[1].rate",
            "< 1",
        ),
        ('[[layers]]\ntype = "Dense"\nunits = "many"', "layers[0].units", "an integer"),
        ('[[layers]]\ntype = "Densy"', "layers[0].type", "Dense, Activation"),
        ("[[layers]]\nunits = 3", "layers[0]", "missing 'type'"),
        ('[[layers]]\ntype = "Dense"\nfilters = 3', "layers[0].filters", "it takes units"),
        (
            '[[layers]]\ntype = "Conv2D"\nkernel_size = [3, 3, 3]',
            "layers[0].kernel_size",
            "a pair [h, w]",
        ),
        ('[[layers]]\ntype = "Conv2D"\npadding = "full"', "layers[0].padding", "'valid', 'same'"),
        ('[[layers]]\ntype = "Dense"\nactivation = "relu6x"', "layers[0].activation", "'relu'"),
        ('[data]\ntask = "regresion"', "data.task", "'regression'"),
        ("[data]\nvalid_fraction = 0.95", "data.valid_fraction", "<= 0.9"),
        ('[data]\nname = "iris"\npath = "x.csv"', "data", "either path or name"),
        ("[data]\nimage_size = [4, 4]", "data.image_size", "8 to 1024"),
        (
            '[data]\ntask = "binary"\ntarget_scale = "minmax"',
            "data.target_scale",
            "only applies to regression",
        ),
        ('[compile]\noptimizer = "adamm"', "compile.optimizer", "'adam'"),
        ("[compile]\nlearning_rate = 0", "compile.learning_rate", "> 0"),
        ('[compile]\nmetrics = ["acc"]', "compile.metrics[0]", "'accuracy'"),
        ("[fit]\nbatch_size = 0", "fit.batch_size", ">= 1"),
        ('[fit]\nepochs = "ten"', "fit.epochs", "an integer"),
        ("[fit.early_stopping]\npatience = -1", "fit.early_stopping.patience", ">= 0"),
        (
            "[fit.early_stopping]\npatiense = 3",
            "fit.early_stopping.patiense",
            "this table takes monitor",
        ),
        (
            '[data]\nvalid_fraction = 0.0\n[fit.early_stopping]\nmonitor = "val_loss"',
            "fit.early_stopping.monitor",
            "monitor 'loss'",
        ),
        ('[accelerator]\ndevice = "npu"', "accelerator.device", "'gpu'"),
        ('[accelerator]\nmixed_precision = "yes"', "accelerator.mixed_precision", "true or false"),
        ("[accelerator]\nreplicas = 0", "accelerator.replicas", ">= 1 and <= 64"),
        ("[accelerator]\nreplicas = 65", "accelerator.replicas", "too large"),
        ("[accelerator]\nreplicas = 2.0", "accelerator.replicas", "an integer"),
        ("[accelerator]\nreplicas = nan", "accelerator.replicas", "an integer"),
        ("[accelerator]\nreplicas = inf", "accelerator.replicas", "an integer"),
        ("[accelerator]\nreplicas = true", "accelerator.replicas", "an integer"),
        ("[accelerator]\nreplica = 2", "accelerator.replica", "mixed_precision, replicas"),
        ("[model]\nx = 1", "model", "this table takes name, data"),
        ("layers = 3", "layers", "[[layers]]"),
    ],
)
def test_validation_errors_name_the_key_and_what_is_allowed(text, key, allowed):
    with pytest.raises(specs.SpecError) as caught:
        specs.loads(text, "exp.toml")
    error = caught.value
    assert error.key == key
    assert allowed in error.problem
    assert error.message.startswith(f"exp.toml: {key}: ")


def test_toml_syntax_errors_give_the_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[fit]\nepochs = 3\nbatch_size = \n")
    with pytest.raises(specs.SpecError, match=r"broken.toml: not valid TOML: .*line 3"):
        specs.load(path)


def test_missing_and_binary_files_are_refused_clearly(tmp_path):
    with pytest.raises(specs.SpecError, match="no such file"):
        specs.load(tmp_path / "nope.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(specs.SpecError, match="not a text file"):
        specs.load(tmp_path / "bin.toml")
    with pytest.raises(specs.SpecError, match="is a folder"):
        specs.load(tmp_path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("old contents")
    spec = specs.loads('[[layers]]\ntype = "Dense"\nunits = 2\n')
    specs.save(spec, path)
    assert specs.load(path).layers[0].params == {"units": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["exp.toml"]


_layer = st.sampled_from(sorted(LAYERS)).flatmap(
    lambda name: st.fixed_dictionaries(
        {"type": st.just(name)},
        optional={
            p.name: (
                st.integers(1, 64)
                if p.kind in ("int", "size2")
                else st.floats(0.0, 0.9)
                if p.kind == "float"
                else st.booleans()
                if p.kind == "bool"
                else st.sampled_from(p.choices)
            )
            for p in LAYERS[name].params
        },
    )
)


@settings(max_examples=60, deadline=None)
@given(layers=st.lists(_layer, max_size=6), epochs=st.integers(1, 1000), lr=st.floats(1e-6, 1.0))
def test_load_save_load_is_the_same_spec(layers, epochs, lr):
    raw = {"layers": layers, "fit": {"epochs": epochs}, "compile": {"learning_rate": lr}}
    try:
        spec = specs.from_dict(raw)
    except specs.SpecError:
        return  # out-of-range draws are refused, which the table above tests
    assert specs.loads(spec.to_toml()) == spec


def test_saved_specs_get_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = specs.save(specs.loads(""), tmp_path / "exp.toml")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
