"""Photos that users upload (repair reports, before/after shots): checked, cleaned and stored under our own names.

An upload is judged only by its bytes: the file name and the browser's content type are the uploader's claims, so
neither is read here. Accepted photos are decoded in full and re-encoded from their pixels, which drops everything
else the file carried: EXIF (GPS location of the owner's flat, camera serial numbers), XMP, comments, colour profiles
(after converting the colours to sRGB) and any bytes hidden after the image. What is stored is always a file we wrote.

Output format: a JPEG (quality 85, progressive) for every photo, because repair photos are photographs and JPEG is
the format every browser, WeChat web view, spreadsheet and PDF library shows. Only a picture with real transparency
(an alpha channel with at least one pixel that is not fully opaque) is stored as PNG, since JPEG cannot hold it and
flattening it onto a colour would change what the user sent. WebP is accepted but never produced: older web views and
the PDF/Excel exports cannot all show it.
"""

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps

from wuye.core import clock
from wuye.core.errors import ValidationFailed

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 2048
JPEG_QUALITY = 85

# MPO is how Pillow names a JPEG carrying an MPF segment (extra preview or depth images), which many phones write for
# ordinary photos; its first image is the photo, and re-encoding keeps only that.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})

_SRGB = ImageCms.createProfile("sRGB")

# Leading bytes of the accepted formats, used only to word the refusal when Pillow cannot read a file at all: a file
# that starts like a JPEG but cannot be parsed is a broken photo, not "not a photo". Never used to accept anything.
_ACCEPTED_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# HEIC/HEIF/AVIF (iPhone photos) are ISO-BMFF files: "ftyp" at offset 4, then a brand. Pillow cannot identify HEIC,
# and telling an iPhone user their photo "is not an image" would be wrong; it is a format we do not take.
_ISO_BMFF_IMAGE_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis")


class ImageRejected(ValidationFailed):
    """An uploaded photo broke one of the rules; `code` says which, `message` says it to the user in their language.

    A ValidationFailed, so the API answers 422 with `{"code": ..., "message": ...}` without a handler of its own.
    """

    CODES = frozenset({"not_an_image", "unsupported_format", "too_large_bytes", "too_many_pixels", "corrupt"})

    def __init__(self, code: str, message: str):
        if code not in self.CODES:
            raise ValueError(f"unknown image rejection code {code!r}")
        super().__init__(message, code=code)


@dataclass(frozen=True)
class CleanImage:
    """A photo as wuye re-encoded it: the bytes to store, what they are, and their SHA-256 (hex)."""

    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str


def clean_image(
    content: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> CleanImage:
    """Check an uploaded photo by its content and return it re-encoded, upright, metadata-free and at most max_side.

    Raises ImageRejected. Order matters: the byte limit is checked before anything parses the file, and the pixel
    limit (from the header) before anything is decoded, so a small file that claims huge dimensions never gets the
    memory it asks for.
    """
    if len(content) > max_bytes:
        raise ImageRejected("too_large_bytes", _("A photo may be at most %(limit)s MB.") % {"limit": _mb(max_bytes)})

    image = _open(content, max_pixels)
    try:
        if image.format not in ACCEPTED_FORMATS:
            raise ImageRejected(
                "unsupported_format",
                _("Photos must be JPEG, PNG or WebP images; this file is %(format)s.") % {"format": image.format},
            )
        width, height = image.size
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        if image.format in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the photo is far bigger than we keep: much less
            # memory and time for large phone shots. It never goes below max_side, so quality is unaffected.
            image.draft(image.mode, (max_side, max_side))
        _decode(image, max_pixels)
        picture = _upright(image)
        picture = _standard_mode(picture)
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        picture = _to_srgb(picture, image.info.get("icc_profile"))
        return _encode(picture)
    finally:
        image.close()


def server_file_name(clean: CleanImage, *, prefix: str, day: dt.date | None = None) -> str:
    """`<prefix>/<yyyy>/<mm>/<random>.<ext>`: unguessable, collision-free, and nothing from the uploader's file name.

    `day` defaults to today in the installation's time zone.
    """
    prefix = prefix.strip("/")
    if not prefix or ".." in prefix.split("/") or "\\" in prefix:
        raise ValueError(f"bad storage prefix {prefix!r}")
    day = day or clock.today()
    return f"{prefix}/{day:%Y}/{day:%m}/{uuid.uuid4().hex}.{clean.extension}"


def store_image(clean: CleanImage, *, prefix: str, storage: Storage | None = None) -> str:
    """Save a cleaned photo under a server-generated name (see server_file_name) and return the name it got.

    Files are not transactional: call this from `transaction.on_commit`, or be ready to delete the file when the
    database write that refers to it fails.
    """
    storage = storage or default_storage
    return storage.save(server_file_name(clean, prefix=prefix), ContentFile(clean.content))


def _open(content: bytes, max_pixels: int) -> Image.Image:
    """Identify the format from the bytes (Pillow reads the header only; no pixels are decoded yet)."""
    try:
        return Image.open(BytesIO(content))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (Image.MAX_IMAGE_PIXELS) fired while reading the header. The warning is caught too for
        # runs that turn warnings into errors; we do not use warnings.catch_warnings because it is not thread-safe.
        raise _too_many_pixels(max_pixels) from None
    except Exception:
        # Hostile bytes can make a header parser fail with almost any exception; all of them mean "not readable".
        raise _unreadable(content) from None


def _decode(image: Image.Image, max_pixels: int) -> None:
    """Decode every pixel, so a truncated or damaged file is refused now rather than stored."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except Exception:
        raise ImageRejected("corrupt", _corrupt_message()) from None


def _upright(image: Image.Image) -> Image.Image:
    """Turn the pixels the way the camera's EXIF orientation says, since the EXIF itself is about to be dropped."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # Broken EXIF is common in photos edited by phone apps; the picture is still good, so keep it as stored.
        return image


def _standard_mode(image: Image.Image) -> Image.Image:
    """Bring any decoded mode to L, LA, RGB, RGBA or (until its colours are converted) CMYK."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK") and "transparency" not in image.info:
        return image
    if mode.startswith("I"):
        # 16-bit greyscale PNG. A plain convert("L") clips every value above 255 to white; scale instead.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
        return image
    if mode in ("1", "L", "LA", "La"):
        return image.convert("LA" if "transparency" in image.info else "L")
    # P and PA (palettes, possibly with a transparent entry), RGB with a tRNS colour, YCbCr and the rest.
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert the colours to sRGB (what a browser assumes when no profile is attached) and drop the profile.

    Without this, an iPhone's Display P3 photo would look washed out and a CMYK photo's colours would be guessed.
    A profile that lcms cannot use is ignored: the photo is still worth keeping.
    """
    if icc_profile and image.mode in ("RGB", "RGBA", "CMYK"):
        alpha = image.getchannel("A") if image.mode == "RGBA" else None
        colour = image.convert("RGB") if image.mode == "RGBA" else image
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(colour, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
        if converted is not None:
            if alpha is not None:
                converted.putalpha(alpha)
            return converted
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image


def _encode(picture: Image.Image) -> CleanImage:
    """Write the pixels, and nothing else, to a new file."""
    if picture.mode in ("RGBA", "LA") and picture.getchannel("A").getextrema()[0] == 255:
        picture = picture.convert("RGB" if picture.mode == "RGBA" else "L")
    # A fresh image holds pixels only: no info dict, no EXIF, no ICC profile, no text chunks to be carried over.
    bare = Image.new(picture.mode, picture.size)
    bare.paste(picture)
    out = BytesIO()
    if bare.mode in ("RGBA", "LA"):
        bare.save(out, format="PNG", optimize=True)
        content_type, extension = "image/png", "png"
    else:
        bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        content_type, extension = "image/jpeg", "jpg"
    content = out.getvalue()
    return CleanImage(
        content=content,
        content_type=content_type,
        extension=extension,
        width=bare.width,
        height=bare.height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _unreadable(content: bytes) -> ImageRejected:
    if content.startswith(_ACCEPTED_SIGNATURES) or (content[:4] == b"RIFF" and content[8:12] == b"WEBP"):
        return ImageRejected("corrupt", _corrupt_message())
    if content[4:8] == b"ftyp" and content[8:12] in _ISO_BMFF_IMAGE_BRANDS:
        return ImageRejected(
            "unsupported_format",
            _("Photos must be JPEG, PNG or WebP images; HEIC and AVIF photos are not accepted."),
        )
    return ImageRejected("not_an_image", _("This file is not a photo. Photos must be JPEG, PNG or WebP images."))


def _corrupt_message() -> str:
    return _("This photo could not be read: the file is damaged or incomplete.")


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        "too_many_pixels",
        _("A photo may have at most %(limit)s megapixels.") % {"limit": _number(max_pixels / 1_000_000)},
    )


def _mb(size_in_bytes: int) -> str:
    return _number(size_in_bytes / (1024 * 1024))


def _number(value: float) -> str:
    """10.0 -> "10", 1.5 -> "1.5", 0.25 -> "0.25": limits read as people write them."""
    return f"{max(round(value, 2), 0.01):g}"
