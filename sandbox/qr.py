"""QR decoding for photos the bot sends (zxing-cpp is a test-only dependency)."""

from __future__ import annotations

import io


def decode_qr(png_bytes: bytes) -> list[str]:
    """Return the texts of all QR codes found in the image (empty list if none)."""
    import zxingcpp  # lazy: only tests that read QR codes need it
    from PIL import Image

    with Image.open(io.BytesIO(png_bytes)) as img:
        results = zxingcpp.read_barcodes(img.convert("RGB"))
    return [r.text for r in results if r.valid]
