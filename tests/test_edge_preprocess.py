"""Preprocessing from the manifest: every file kind, aspect handling, polarity, bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_runtime.errors import ImageDecodeError
from edge_runtime.manifest import InputSpec
from edge_runtime.polarity import check_invert_choice, looks_dark_on_light
from edge_runtime.preprocess import decode_image_bytes, fit, load_image, prepare, to_grey
from tests.fixtures.edge_helpers import pattern

GREY = InputSpec(height=28, width=28, channels=1)
RGB = InputSpec(
    height=32, width=32, channels=3, color="rgb", value_range=(-1.0, 1.0), polarity="natural"
)


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_grey_png_decodes_to_hxwx1() -> None:
    arr = pattern("box")
    out = decode_image_bytes(_encode(Image.fromarray(arr), "PNG"))
    assert out.shape == (28, 28, 1) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], arr)


def test_rgb_jpeg_and_bmp_decode_to_rgb() -> None:
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 200  # red
    for fmt in ("JPEG", "BMP"):
        out = decode_image_bytes(_encode(Image.fromarray(rgb), fmt))
        assert out.shape == (20, 30, 3)
        assert abs(int(out[..., 0].mean()) - 200) <= 3 and out[..., 2].mean() < 10


def test_rgba_is_composited_on_white() -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent
    rgba[2:6, 2:6] = (0, 0, 0, 255)  # opaque black square
    out = decode_image_bytes(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out.shape == (8, 8, 3)
    assert (out[0, 0] == 255).all() and (out[3, 3] == 0).all()


def test_palette_and_16bit_pngs() -> None:
    p = Image.fromarray(pattern("cross")).convert("P")
    assert decode_image_bytes(_encode(p, "PNG")).shape == (28, 28, 3)
    deep = Image.fromarray(pattern("cross").astype(np.uint16) * 257)
    out = decode_image_bytes(_encode(deep, "PNG"))
    assert out.shape == (28, 28, 1)
    np.testing.assert_allclose(out[..., 0], pattern("cross"), atol=1)


def test_exif_orientation_is_applied() -> None:
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, :10] = 255  # left half white
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = decode_image_bytes(_encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.shape == (20, 10, 3)  # portrait after applying the orientation
    assert out[:5].mean() > 200 and out[-5:].mean() < 50  # the white half is now on top


def test_not_an_image_truncated_and_bomb_are_decode_errors(space_dir: Path) -> None:
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image_bytes(b"hello, this is text")
    with pytest.raises(ImageDecodeError, match="empty input"):
        decode_image_bytes(b"")
    data = _encode(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)), "PNG"
    )
    with pytest.raises(ImageDecodeError, match="corrupt or truncated"):
        decode_image_bytes(data[: len(data) // 2])
    big = _encode(Image.new("L", (4000, 3000)), "PNG")
    with pytest.raises(ImageDecodeError, match="12000000 pixels, more than the limit of 1000000"):
        decode_image_bytes(big, max_pixels=1_000_000)
    with pytest.raises(ImageDecodeError, match="does not exist"):
        load_image(space_dir / "missing.png")
    (space_dir / "a photo.png").write_bytes(_encode(Image.fromarray(pattern("box")), "PNG"))
    assert load_image(space_dir / "a photo.png").shape == (28, 28, 1)


def test_to_grey_matches_pillow_and_handles_bgr() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (16, 16, 3), np.uint8)
    pil = np.asarray(Image.fromarray(rgb).convert("L"))
    np.testing.assert_allclose(to_grey(rgb), pil, atol=1)
    np.testing.assert_array_equal(to_grey(rgb[..., ::-1].copy(), bgr=True), to_grey(rgb))


@pytest.mark.parametrize("mode", ["pad", "stretch", "center_crop"])
def test_fit_modes_give_target_size(mode: str) -> None:
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 26:34] = 255
    out = fit(wide, 28, 28, mode)
    assert out.shape == (28, 28)
    if mode == "pad":  # content keeps its aspect ratio; bands of background above and below
        assert out[:5].max() == 0 and out[-5:].max() == 0 and out[14, 14] == 255
    if mode == "center_crop":  # the narrow central band stays central and thin
        assert out[:, 12:16].min() > 200 and out[:, :5].max() < 30
    if mode == "stretch":
        assert out[0, 14] == 255


def test_prepare_value_range_layout_and_colour() -> None:
    x = prepare(pattern("box", 56), GREY)
    assert x.shape == (28, 28, 1) and x.dtype == np.float32 and x.min() >= 0 and x.max() <= 255
    rgb = np.full((40, 40, 3), 255, np.uint8)
    y = prepare(rgb, RGB)
    assert y.shape == (32, 32, 3)
    np.testing.assert_allclose(y, 1.0)
    nchw = prepare(rgb, RGB.replace(layout="NCHW"))
    assert nchw.shape == (3, 32, 32)


def test_polarity_auto_inverts_dark_on_light_photos_only() -> None:
    light_on_dark = pattern("box")
    photo = pattern("box", light_on_dark=False)
    assert looks_dark_on_light(photo) and not looks_dark_on_light(light_on_dark)
    np.testing.assert_array_equal(
        prepare(photo, GREY, "auto"), prepare(light_on_dark, GREY, "auto")
    )
    np.testing.assert_array_equal(prepare(light_on_dark, GREY, "never"), light_on_dark[..., None])
    np.testing.assert_array_equal(
        prepare(light_on_dark, GREY, "always"), 255.0 - light_on_dark[..., None]
    )
    # The earlier spellings mean the same.
    for old, new in (("as-is", "never"), ("invert", "always")):
        np.testing.assert_array_equal(prepare(photo, GREY, old), prepare(photo, GREY, new))
    # a natural-image model never inverts automatically
    natural = GREY.replace(polarity="natural")
    np.testing.assert_array_equal(prepare(photo, natural, "auto"), photo[..., None])


def test_bad_arrays_and_polarity_choice() -> None:
    with pytest.raises(ImageDecodeError, match="uint8"):
        prepare(np.zeros((4, 4), np.float32), GREY)
    with pytest.raises(ImageDecodeError, match="shape"):
        prepare(np.zeros((4, 4, 2), np.uint8), GREY)
    with pytest.raises(Exception, match="invert='sideways' is not allowed"):
        check_invert_choice("sideways")
    # The earlier spellings are still understood.
    assert check_invert_choice("as-is") == "never" and check_invert_choice("invert") == "always"


def test_grey_hxwx1_input_of_another_size_is_resized() -> None:
    big = pattern("box", 56)[..., None]
    x = prepare(big, GREY)
    assert x.shape == (28, 28, 1)
    np.testing.assert_array_equal(x, prepare(big[..., 0], GREY))
