"""QR decoding: the tests read the codes the bot sends; the sandbox page's camera scans them."""

from __future__ import annotations

import io


def decode_qr(png_bytes: bytes) -> list[str]:
    """Return the texts of all QR codes found in the image (empty list if none)."""
    import zxingcpp  # lazy: a compiled library, loaded only when a code is read
    from PIL import Image

    with Image.open(io.BytesIO(png_bytes)) as img:
        results = zxingcpp.read_barcodes(img.convert("RGB"))
    return [r.text for r in results if r.valid]
