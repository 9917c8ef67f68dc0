"""Heatmap, KernelGrid and Picture in small apps: the colours, numbers and edits a user sees."""

import io

import numpy as np
import pytest
from layerlab.tui.widgets.colormap import color_table, format_value
from layerlab.tui.widgets.heatmap import Heatmap, fit_size
from layerlab.tui.widgets.kernel_grid import KernelGrid, parse_value
from layerlab.tui.widgets.picture import Picture, to_pil
from PIL import Image as PILImage
from rich.console import Console
from rich.segment import Segments
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Region

EDGE = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
BOTTOM_SOBEL = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]


class HeatmapApp(App):
    def __init__(self, data) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        yield Heatmap(self.data, title="Filter")


class GridApp(App):
    BINDINGS = [Binding("t", "train", "Train")]

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[KernelGrid.Changed] = []
        self.trained = False

    def compose(self) -> ComposeResult:
        yield KernelGrid(EDGE, title="edge", editable=True)

    def on_kernel_grid_changed(self, message: KernelGrid.Changed) -> None:
        self.changes.append(message)

    def action_train(self) -> None:
        self.trained = True


def _strips(widget):
    """The widget as painted, one Strip a row."""
    return widget.render_lines(Region(0, 0, *widget.outer_size))


def _pixels(heatmap: Heatmap) -> list[list[tuple[tuple, tuple]]]:
    """(foreground, background) RGB of each half-block cell, row by row, on the picture's rows."""
    rows = []
    for strip in _strips(heatmap):
        cells = []
        for segment in strip:
            if "▀" in segment.text:
                style = segment.style
                pair = (tuple(style.color.triplet), tuple(style.bgcolor.triplet))
                cells += [pair] * len(segment.text)
        if cells:
            rows.append(cells)
    return rows


def _luminance(rgb) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


# Pure helpers


def test_numbers_are_formatted_as_the_course_writes_kernels():
    assert [format_value(v) for v in (-1.0, 8.0, 0.0625, 0.125, 1 / 3, -0.0)] == [
        "-1",
        "8",
        "0.0625",
        "0.125",
        "0.333",
        "0",
    ]


def test_upscaling_gives_every_element_the_same_number_of_pixels():
    assert fit_size(3, 3, 20, 40) == (18, 18)  # 6 pixels each, not 20/3
    assert fit_size(64, 64, 40, 30) == (30, 30)  # down to fit the height
    assert fit_size(64, 64, 23, 100) == (22, 23)  # rows kept even: no half-empty last line
    assert fit_size(4, 4, 0, 10) == (0, 0)


def test_typed_values_accept_fractions_and_refuse_non_numbers():
    assert parse_value("1/16") == 0.0625
    assert parse_value("-2.5") == -2.5
    assert parse_value("1e-3") == 0.001
    for bad in ("1-2", "--", ".", "1/0", "1e999999"):
        with pytest.raises(ValueError, match="not a number"):
            parse_value(bad)


# Heatmap


async def test_corner_cells_carry_the_extreme_colours_of_the_sequential_map():
    app = HeatmapApp(np.array([[0.0, 3.0], [3.0, 0.0]]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        heatmap = app.query_one(Heatmap)
        assert not heatmap.diverging
        pixels = _pixels(heatmap)
        low, high = pixels[0][0][0], pixels[0][-1][0]
        assert low == tuple(color_table(False)[0]) and high == tuple(color_table(False)[-1])
        assert _luminance(low) < 20 < 200 < _luminance(high)
        assert pixels[-1][0][1] == high and pixels[-1][-1][1] == low  # bottom row, lower halves


async def test_negative_values_use_blue_for_negative_red_for_positive_and_grey_for_zero():
    app = HeatmapApp(np.array([[-2.0, 0.0], [0.0, 2.0]]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        heatmap = app.query_one(Heatmap)
        assert heatmap.diverging
        pixels = _pixels(heatmap)
        negative, zero, positive = pixels[0][0][0], pixels[0][-1][0], pixels[-1][-1][1]
        assert negative[2] > negative[0] + 100  # blue
        assert positive[0] > positive[2] + 100  # red
        assert max(zero) - min(zero) < 10  # grey


async def test_a_flat_array_shows_one_colour_and_nan_does_not_crash():
    app = HeatmapApp(np.full((8, 8), 3.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        heatmap = app.query_one(Heatmap)
        colours = {colour for row in _pixels(heatmap) for pair in row for colour in pair}
        assert len(colours) == 1
        heatmap.data = np.array([[np.nan, 1.0], [2.0, np.inf]])
        await pilot.pause()
        assert heatmap.value_range == (1.0, 2.0)
        assert len(_pixels(heatmap)) > 0


async def test_resizing_rescales_with_square_pixels():
    app = HeatmapApp(np.random.default_rng(0).normal(size=(64, 64)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        heatmap = app.query_one(Heatmap)
        small = _pixels(heatmap)
        await pilot.resize_terminal(120, 50)
        await pilot.pause()
        large = _pixels(heatmap)
        assert len(large[0]) > len(small[0])
        for pixels in (small, large):
            width, lines = len(pixels[0]), len(pixels)
            assert abs(2 * lines - width) <= 1  # a square array stays square


async def test_a_one_pixel_edge_survives_shrinking_to_a_small_panel():
    feature_map = np.zeros((64, 64))
    feature_map[34, :] = 4.0  # one row, between the rows a plain subsample would take
    app = HeatmapApp(feature_map)
    async with app.run_test(size=(24, 12)) as pilot:
        await pilot.pause()
        pixels = _pixels(app.query_one(Heatmap))
        assert len(pixels[0]) < 32
        bright = [pair for row in pixels for pair in row if _luminance(pair[0]) > 200]
        bright += [pair for row in pixels for pair in row if _luminance(pair[1]) > 200]
        assert len(bright) >= len(pixels[0])  # the whole line, across the width


async def test_legend_shows_min_and_max_and_follows_new_data():
    app = HeatmapApp(np.array([[-1.5, 0.0], [3.0, 7.0]]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        heatmap = app.query_one(Heatmap)
        legend = next(s.text for s in reversed(_strips(heatmap)) if s.text.strip())
        assert legend.split() == ["-1.5", "7"]
        assert _strips(heatmap)[0].text.strip() == "Filter"
        heatmap.data = np.array([[0.0, 0.25]])
        await pilot.pause()
        legend = next(s.text for s in reversed(_strips(heatmap)) if s.text.strip())
        assert legend.split() == ["0", "0.25"]


async def test_colours_survive_a_256_colour_console():
    app = HeatmapApp(np.array([[-2.0, 0.0], [0.0, 2.0]]))
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        strips = _strips(app.query_one(Heatmap))
    out = io.StringIO()
    console = Console(file=out, color_system="256", force_terminal=True, width=40)
    for strip in strips:
        console.print(Segments(strip))
    codes = out.getvalue()
    assert "38;2;" not in codes and "48;2;" not in codes  # no true colour left
    picture_codes = {part for part in codes.split("\x1b[") if "▀" in part}
    assert len(picture_codes) >= 3  # blue, grey and red stay distinct


def test_arrays_that_are_not_two_dimensional_are_refused():
    assert Heatmap(np.ones((5, 5, 1))).data.shape == (5, 5)
    assert Heatmap(np.ones(4)).data.shape == (1, 4)
    with pytest.raises(ValueError, match="2-D"):
        Heatmap(np.ones((2, 3, 4)))


# KernelGrid


def _cell_background(grid: KernelGrid, number: str) -> tuple:
    for strip in _strips(grid):
        for segment in strip:
            if segment.text.strip().strip("[]") == number and segment.style.bgcolor:
                return tuple(segment.style.bgcolor.triplet)
    raise AssertionError(f"no cell shows {number}")


async def test_kernel_grid_shows_the_edge_kernels_numbers_on_coloured_cells():
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.query_one(KernelGrid)
        lines = [strip.text for strip in _strips(grid)]
        assert lines[0].strip() == "edge" and lines[-1].strip() == "row 1, col 1 = -1"
        rows = [line.replace("[", " ").replace("]", " ").split() for line in lines[1:-1]]
        assert [row for row in rows if row] == [["-1"] * 3, ["-1", "8", "-1"], ["-1"] * 3]
        red, blue = _cell_background(grid, "8"), _cell_background(grid, "-1")
        assert red[0] > red[2] + 100 and blue[2] > blue[0]


async def test_typing_a_number_and_enter_sets_the_cell_and_posts_changed():
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(KernelGrid)
        grid.focus()
        await pilot.press("down", "right", "4", "enter")
        await pilot.press("up", "1", "/", "1", "6", "enter")
        await pilot.pause()
        assert [m.cell for m in app.changes] == [(1, 1), (0, 1)]
        assert app.changes[0].control is grid
        expected = np.array(EDGE, dtype=float)
        expected[1, 1] = 4
        np.testing.assert_array_equal(app.changes[0].kernel, expected)
        expected[0, 1] = 0.0625
        np.testing.assert_array_equal(grid.kernel, expected)
        assert "0.0625" in "\n".join(strip.text for strip in _strips(grid))


async def test_bad_input_shows_an_error_and_keeps_the_value():
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(KernelGrid)
        grid.focus()
        await pilot.press("down", "right", "-", "-", "enter")
        await pilot.pause()
        footer = _strips(grid)[-1].text
        assert "not a number: '--'" in footer and "kept 8" in footer
        assert grid.kernel[1, 1] == 8 and app.changes == []
        await pilot.press("5", "enter")
        await pilot.pause()
        assert grid.kernel[1, 1] == 5 and "not a number" not in _strips(grid)[-1].text


async def test_letters_still_reach_the_apps_keys_while_the_grid_has_focus():
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(KernelGrid).focus()
        await pilot.press("t")
        assert app.trained


# Picture


def test_arrays_become_pictures_black_to_white():
    gray = to_pil(np.array([[0.0, 1.0], [0.5, 2.0]]))
    assert gray.mode == "L"
    assert gray.getpixel((0, 0)) == 0 and gray.getpixel((gray.width - 1, 0)) == 255
    assert gray.getpixel((gray.width - 1, gray.height - 1)) == 255  # clipped
    assert to_pil(np.zeros((64, 64, 3), dtype=np.uint8)).mode == "RGB"
    with pytest.raises(ValueError, match="H, W"):
        to_pil(np.zeros((4, 4, 2)))


@pytest.mark.parametrize("renderer", ["auto", "halfcell", "unicode"])
async def test_picture_mounts_and_draws_a_numpy_image(renderer):
    image = np.zeros((64, 64))
    image[:, 32:] = 1.0  # black left half, white right half

    class PictureApp(App):
        def compose(self) -> ComposeResult:
            yield Picture(image, title="Input", renderer=renderer)

    app = PictureApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        picture = app.query_one(Picture)
        assert _strips(picture.query_one(".picture--title"))[0].text.strip() == "Input"
        shown = picture.query_one(".picture--image")
        assert shown.size.width > 10 and shown.size.height > 5
        middle = _strips(shown)[shown.size.height // 2]
        if renderer == "unicode":  # shades: a space for black, a full block for white
            assert middle.text[1] == " " and middle.text[-2] == "█"
        else:  # half blocks coloured black, then white ("auto" is half blocks when headless)
            blocks = [seg.style.color.triplet for seg in middle if seg.text == "▀"]
            assert _luminance(blocks[1]) < 20 and _luminance(blocks[-2]) > 235
        picture.image = PILImage.new("L", (8, 8), 255)
        await pilot.pause()
        assert picture.query_one(".picture--image").image.size == (256, 256)
