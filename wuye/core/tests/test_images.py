import datetime as dt
import hashlib
import re
import struct
import zlib
from io import BytesIO

import pytest
import time_machine
from django.core.files.storage import InMemoryStorage, default_storage
from django.utils import translation
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from wuye.core.errors import ValidationFailed
from wuye.core.images import (
    CleanImage,
    ImageRejected,
    clean_image,
    server_file_name,
    store_image,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    out = BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def red_left_blue_right(size=(100, 50), mode="RGB") -> Image.Image:
    """A picture whose halves tell us whether it came out whole, in colour and the right way round."""
    width, height = size
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image.convert(mode)


def decoded(clean: CleanImage) -> Image.Image:
    image = Image.open(BytesIO(clean.content))
    image.load()
    return image


def close_to(actual, expected, tolerance=40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def png_claiming(width: int, height: int, *, compressed_rows: bool) -> bytes:
    """A 1-bit PNG of the given dimensions, built chunk by chunk so the test never holds its pixels in memory.

    With compressed_rows, the IDAT holds every (all-black) row: a real decompression bomb, a few hundred KB that
    decodes to width * height pixels. Without, the IDAT is garbage, so decoding it would fail as corrupt.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    if compressed_rows:
        row = b"\x00" * (1 + (width + 7) // 8)
        compressor = zlib.compressobj(9)
        block = row * 1000
        idat = b"".join(compressor.compress(block) for _ in range(height // 1000))
        idat += compressor.compress(row * (height % 1000)) + compressor.flush()
    else:
        idat = b"not zlib data at all"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# Accepted formats: decoded, re-encoded, same picture.


@pytest.mark.parametrize(
    ("image_format", "options"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"quality": 95})],
)
def test_a_real_opaque_photo_is_accepted_and_stored_as_a_fresh_progressive_jpeg(image_format, options):
    original = encode(red_left_blue_right((120, 80)), image_format, **options)

    clean = clean_image(original)

    assert (clean.content_type, clean.extension) == ("image/jpeg", "jpg")
    assert clean.content != original
    assert clean.sha256 == hashlib.sha256(clean.content).hexdigest()
    result = decoded(clean)
    assert result.format == "JPEG"
    assert result.info.get("progressive") == 1
    assert (result.width, result.height) == (clean.width, clean.height) == (120, 80)
    assert close_to(result.convert("RGB").getpixel((10, 40)), RED)
    assert close_to(result.convert("RGB").getpixel((110, 40)), BLUE)


def test_a_jpeg_that_phones_write_with_an_mpf_segment_is_accepted_as_a_jpeg():
    primary = red_left_blue_right((64, 32))
    mpo = encode(primary, "MPO", save_all=True, append_images=[Image.new("RGB", (16, 8), "green")])
    assert Image.open(BytesIO(mpo)).format == "MPO"

    clean = clean_image(mpo)

    assert (clean.content_type, clean.width, clean.height) == ("image/jpeg", 64, 32)
    assert close_to(decoded(clean).getpixel((5, 5)), RED)


def test_a_png_with_transparent_pixels_stays_a_png_and_keeps_its_transparency():
    image = red_left_blue_right((40, 20), mode="RGBA")
    image.putpixel((39, 0), (0, 0, 255, 0))

    clean = clean_image(encode(image, "PNG"))

    assert (clean.content_type, clean.extension) == ("image/png", "png")
    result = decoded(clean)
    assert result.mode == "RGBA"
    assert result.getpixel((39, 0))[3] == 0
    assert result.getpixel((0, 0)) == (*RED, 255)


def test_a_webp_with_transparency_becomes_a_png():
    image = Image.new("RGBA", (30, 30), (0, 255, 0, 128))

    clean = clean_image(encode(image, "WEBP", lossless=True))

    assert clean.content_type == "image/png"
    assert decoded(clean).getpixel((15, 15))[3] == 128


def test_an_alpha_channel_that_is_fully_opaque_is_dropped_and_the_photo_becomes_a_jpeg():
    clean = clean_image(encode(red_left_blue_right(mode="RGBA"), "PNG"))

    assert clean.content_type == "image/jpeg"
    assert decoded(clean).mode == "RGB"


def test_a_palette_png_with_a_transparent_entry_keeps_that_transparency():
    image = red_left_blue_right((20, 10)).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    transparent_index = image.getpixel((19, 0))

    clean = clean_image(encode(image, "PNG", transparency=transparent_index))

    result = decoded(clean)
    assert (clean.content_type, result.mode) == ("image/png", "RGBA")
    assert result.getpixel((19, 0))[3] == 0
    assert result.getpixel((0, 0)) == (*RED, 255)


def test_a_palette_png_without_transparency_becomes_a_colour_jpeg():
    image = red_left_blue_right((20, 10)).convert("P", palette=Image.Palette.ADAPTIVE, colors=2)

    clean = clean_image(encode(image, "PNG"))

    result = decoded(clean)
    assert (clean.content_type, result.mode) == ("image/jpeg", "RGB")
    assert close_to(result.getpixel((2, 5)), RED)


def test_a_cmyk_jpeg_comes_out_as_rgb_with_its_colours():
    image = Image.new("CMYK", (20, 10), (0, 255, 255, 0))

    clean = clean_image(encode(image, "JPEG"))

    result = decoded(clean)
    assert result.mode == "RGB"
    assert close_to(result.getpixel((10, 5)), RED)


def test_a_black_and_white_png_becomes_a_greyscale_jpeg():
    image = Image.new("1", (16, 16), 0)
    image.paste(1, (0, 0, 8, 16))

    clean = clean_image(encode(image, "PNG"))

    result = decoded(clean)
    assert (clean.content_type, result.mode) == ("image/jpeg", "L")
    assert result.getpixel((2, 8)) > 200
    assert result.getpixel((13, 8)) < 50


def test_a_16_bit_greyscale_png_keeps_its_mid_tones_instead_of_turning_white():
    image = Image.new("I;16", (10, 10), 32768)
    assert Image.open(BytesIO(encode(image, "PNG"))).mode.startswith("I")

    clean = clean_image(encode(image, "PNG"))

    assert 110 <= decoded(clean).getpixel((5, 5)) <= 145


def test_colours_are_converted_to_srgb_and_the_profile_is_not_kept():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    clean = clean_image(encode(red_left_blue_right(), "JPEG", icc_profile=srgb))

    result = decoded(clean)
    assert "icc_profile" not in result.info
    assert close_to(result.getpixel((10, 25)), RED)


def test_a_broken_colour_profile_is_ignored_not_a_reason_to_refuse_the_photo():
    clean = clean_image(encode(red_left_blue_right(), "JPEG", icc_profile=b"not an icc profile"))

    assert "icc_profile" not in decoded(clean).info


# Refusals, each with its code.


@pytest.mark.parametrize(
    "content",
    [b"", b"Dear property manager, the tap leaks.\n" * 20, b"%PDF-1.7\n" + b"0" * 500, b"\x00" * 64],
    ids=["empty", "text", "pdf", "zeros"],
)
def test_a_file_that_is_not_an_image_is_refused_as_not_an_image(content):
    with pytest.raises(ImageRejected) as error:
        clean_image(content)

    assert error.value.code == "not_an_image"


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF", "ICO"])
def test_an_image_in_another_format_is_refused_as_unsupported_naming_the_accepted_formats(image_format):
    content = encode(red_left_blue_right((32, 32)), image_format)

    with translation.override("en"), pytest.raises(ImageRejected) as error:
        clean_image(content)

    assert error.value.code == "unsupported_format"
    assert "JPEG, PNG or WebP" in error.value.message
    assert image_format in error.value.message


def test_an_iphone_heic_photo_is_refused_as_unsupported_not_as_not_an_image():
    heic_start = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 200

    with pytest.raises(ImageRejected) as error:
        clean_image(heic_start)

    assert error.value.code == "unsupported_format"


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_photo_is_refused_as_corrupt(image_format):
    noisy = Image.effect_noise((200, 200), 64).convert("RGB")
    content = encode(noisy, image_format)

    with pytest.raises(ImageRejected) as error:
        clean_image(content[: len(content) // 2])

    assert error.value.code == "corrupt"


def test_a_jpeg_cut_off_inside_its_header_is_corrupt_not_not_an_image():
    content = encode(red_left_blue_right(), "JPEG")

    with pytest.raises(ImageRejected) as error:
        clean_image(content[:40])

    assert error.value.code == "corrupt"


def test_too_many_bytes_are_refused_before_anything_tries_to_read_them(monkeypatch):
    def must_not_be_called(*args, **kwargs):
        raise AssertionError("the file was parsed before its size was checked")

    monkeypatch.setattr(Image, "open", must_not_be_called)
    not_an_image = b"x" * (10 * 1024 * 1024 + 1)

    with translation.override("en"), pytest.raises(ImageRejected) as error:
        clean_image(not_an_image)

    assert error.value.code == "too_large_bytes"
    assert error.value.message == "A photo may be at most 10 MB."


def test_a_photo_of_exactly_max_bytes_is_accepted_and_one_byte_more_is_not():
    content = encode(red_left_blue_right(), "PNG")

    assert clean_image(content, max_bytes=len(content)).width == 100
    with pytest.raises(ImageRejected) as error:
        clean_image(content, max_bytes=len(content) - 1)
    assert error.value.code == "too_large_bytes"


def test_a_decompression_bomb_is_refused_as_too_many_pixels_without_being_decoded():
    bomb = png_claiming(30_000, 30_000, compressed_rows=True)
    assert len(bomb) < 1024 * 1024

    with translation.override("en"), pytest.raises(ImageRejected) as error:
        clean_image(bomb)

    assert error.value.code == "too_many_pixels"
    assert error.value.message == "A photo may have at most 40 megapixels."


def test_the_pixel_limit_is_checked_from_the_header_before_the_pixels_are_decoded():
    claims_36_megapixels = png_claiming(6000, 6000, compressed_rows=False)

    with pytest.raises(ImageRejected) as error:
        clean_image(claims_36_megapixels, max_pixels=10_000_000)
    assert error.value.code == "too_many_pixels"

    # Within the limit, the same file is decoded, and only then found to be garbage.
    with pytest.raises(ImageRejected) as error:
        clean_image(claims_36_megapixels, max_pixels=36_000_000)
    assert error.value.code == "corrupt"


def test_a_photo_of_exactly_max_pixels_is_accepted_and_one_pixel_row_more_is_not():
    content = encode(Image.new("RGB", (100, 100), "white"), "PNG")

    assert clean_image(content, max_pixels=10_000).width == 100
    with pytest.raises(ImageRejected) as error:
        clean_image(content, max_pixels=9_999)
    assert error.value.code == "too_many_pixels"


def test_a_refusal_is_a_validation_failure_the_api_answers_with_422_and_its_code():
    with pytest.raises(ValidationFailed) as error:
        clean_image(b"hello")

    assert error.value.status == 422
    assert error.value.as_dict()["code"] == "not_an_image"


# Privacy: nothing but pixels survives.


def test_exif_with_gps_location_and_camera_details_is_removed():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Model X"
    exif[ExifTags.Base.BodySerialNumber] = "SERIAL-12345"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (31.0, 14.0, 10.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (121.0, 28.0, 20.0),
    }
    original = encode(red_left_blue_right(), "JPEG", exif=exif, comment=b"flat 1-101, owner Zhang")
    assert Image.open(BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    clean = clean_image(original)

    result = decoded(clean)
    assert "exif" not in result.info
    assert not result.getexif()
    assert not result.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "comment" not in result.info
    for secret in (b"Exif", b"PhoneMaker", b"SERIAL-12345", b"owner Zhang"):
        assert secret not in clean.content


def test_png_text_chunks_are_removed():
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "Building 3, room 1-101")
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))

    clean = clean_image(encode(image, "PNG", pnginfo=info))

    assert b"room 1-101" not in clean.content
    assert "Location" not in decoded(clean).info


def test_bytes_hidden_after_the_image_are_not_stored():
    polyglot = encode(red_left_blue_right(), "JPEG") + b"<script>alert(document.cookie)</script>"

    clean = clean_image(polyglot)

    assert b"<script>" not in clean.content


def test_exif_orientation_6_is_applied_so_the_photo_comes_out_upright():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    stored_sideways = encode(red_left_blue_right((100, 50)), "JPEG", exif=exif)

    clean = clean_image(stored_sideways)

    result = decoded(clean)
    assert (clean.width, clean.height) == (result.width, result.height) == (50, 100)
    # Orientation 6 means "rotate 90 degrees clockwise to view": the stored left (red) half ends up on top.
    assert close_to(result.getpixel((25, 10)), RED)
    assert close_to(result.getpixel((25, 90)), BLUE)
    assert not result.getexif().get(ExifTags.Base.Orientation)


# Size.


def test_a_big_photo_is_downsized_so_its_longest_side_is_2048():
    clean = clean_image(encode(red_left_blue_right((3000, 1500)), "PNG"))

    assert (clean.width, clean.height) == (2048, 1024)
    assert decoded(clean).size == (2048, 1024)


def test_a_tall_jpeg_is_downsized_to_max_side_keeping_its_proportions():
    clean = clean_image(encode(red_left_blue_right((600, 800)), "JPEG"), max_side=200)

    assert (clean.width, clean.height) == (150, 200)
    assert close_to(decoded(clean).getpixel((10, 100)), RED)


def test_a_small_photo_is_not_enlarged():
    clean = clean_image(encode(red_left_blue_right((100, 50)), "WEBP"))

    assert (clean.width, clean.height) == (100, 50)


# Names and storage.


def test_server_file_names_are_prefix_year_month_and_a_random_hex_name():
    clean = clean_image(encode(red_left_blue_right(), "JPEG"))

    name = server_file_name(clean, prefix="workorders/photos", day=dt.date(2025, 3, 9))

    assert re.fullmatch(r"workorders/photos/2025/03/[0-9a-f]{32}\.jpg", name)


def test_server_file_names_are_unique_and_use_the_extension_of_what_was_stored():
    transparent = clean_image(encode(Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "PNG"))

    names = {server_file_name(transparent, prefix="repairs", day=dt.date(2025, 1, 1)) for _ in range(500)}

    assert len(names) == 500
    assert all(name.endswith(".png") for name in names)


@time_machine.travel(dt.datetime(2025, 3, 31, 17, 30, tzinfo=dt.UTC), tick=False)
def test_server_file_names_default_to_todays_month_in_shanghai_not_utc():
    clean = clean_image(encode(red_left_blue_right(), "JPEG"))

    assert server_file_name(clean, prefix="repairs").startswith("repairs/2025/04/")


@pytest.mark.parametrize("prefix", ["", "/", "../secrets", "repairs/../../etc", "repairs\\x"])
def test_a_prefix_that_could_escape_the_storage_folder_is_a_programming_error(prefix):
    clean = clean_image(encode(red_left_blue_right(), "JPEG"))

    with pytest.raises(ValueError):
        server_file_name(clean, prefix=prefix, day=dt.date(2025, 1, 1))


def test_store_image_saves_the_cleaned_bytes_in_the_default_storage_under_a_server_name():
    clean = clean_image(encode(red_left_blue_right(), "JPEG"))

    name = store_image(clean, prefix="workorders/photos")

    assert re.fullmatch(r"workorders/photos/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", name)
    with default_storage.open(name) as stored:
        assert stored.read() == clean.content


def test_store_image_uses_the_storage_it_is_given():
    clean = clean_image(encode(red_left_blue_right(), "JPEG"))
    storage = InMemoryStorage()

    name = store_image(clean, prefix="dispatch/after", storage=storage)

    assert storage.exists(name)
    assert not default_storage.exists(name)
