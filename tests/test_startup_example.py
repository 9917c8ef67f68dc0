"""`layerlab NAME` opens a shipped example by its name, as `layerlab train NAME` trains it."""

from layerlab.tui import startup


def test_an_example_name_opens_that_example_unsaved_with_its_data_found():
    start = startup.choose("red_wine")
    assert start.error is None and start.spec.name == "red_wine"
    assert start.path is None and not start.saved  # ctrl+s writes the user's own copy
    assert start.spec.data_path().is_file()  # red-wine.csv, beside the shipped spec
    assert "red_wine example" in start.note


def test_an_unknown_name_still_says_no_such_file():
    start = startup.choose("no_such_example")
    assert "no_such_example: no such file" in start.error
