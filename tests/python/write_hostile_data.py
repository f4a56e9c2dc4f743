#!/usr/bin/python3
"""Writes hostile image, label and .mat files for the tests, with real writers (PIL,
zlib, scipy): small files whose headers ask for huge decodes.

    write_hostile_data.py OUT_DIR

  huge_header.jpg   a 64 x 48 JPEG whose frame header is patched to say 65500 x 65500
  bomb_label.png    a palette PNG of 20000 x 20000 zeros (a few hundred kilobytes)
  bomb.mat          a compressed v5 .mat whose variable S is 2000 x 2000 zeros (the test
                    lowers data.max_image_pixels below that: scipy's compressed writer
                    takes minutes, superlinearly, past about 4000 x 4000)
  stray_byte.jpg    a 64 x 48 JPEG declaring 30000 x 30000, one stray byte before its
                    frame header (a hand parser that stops there sees no size)
  tiff_named.jpg    a deflate-compressed 2000 x 2000 TIFF (PIL) named .jpg
  (the progressive files are 40 x 40, the size of the tests' toy data)
  many_scans.jpg    a valid progressive JPEG of 190 scans: the AC scans of each colour
                    component, written by jpegtran -scans, spliced after one DC scan
  scans_100.jpg     a valid progressive JPEG of 100 scans (jpegtran's own maximum)
  empty_scans.jpg   a progressive JPEG whose last scan is repeated 20,000 times
  empty_scans_large.jpg
                    the same at 4096 x 4096 (every scan walks the whole image: slow)
  truncated_eoi.jpg a 40 x 40 JPEG cut in half, an end-of-image marker appended
"""
import io
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import scipy.io
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

buffer = io.BytesIO()
Image.new("RGB", (64, 48), (10, 200, 30)).save(buffer, "JPEG")
jpeg = bytearray(buffer.getvalue())
sof = jpeg.index(b"\xff\xc0")
jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
open(os.path.join(out, "huge_header.jpg"), "wb").write(bytes(jpeg))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


side = 20000
row = bytes(side + 1)  # filter byte 0, then indices 0
compressor = zlib.compressobj(9)
idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 3, 0, 0, 0)) +
       chunk(b"PLTE", bytes(3 * 256)) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
open(os.path.join(out, "bomb_label.png"), "wb").write(png)

scipy.io.savemat(os.path.join(out, "bomb.mat"), {"S": np.zeros((2000, 2000), dtype=np.uint8)}, do_compression=True)
jpeg = bytearray(buffer.getvalue())
sof = jpeg.index(b"\xff\xc0")
jpeg[sof + 5:sof + 9] = struct.pack(">HH", 30000, 30000)
open(os.path.join(out, "stray_byte.jpg"), "wb").write(bytes(jpeg[:sof]) + b"\x00" + bytes(jpeg[sof:]))

Image.new("L", (2000, 2000), 0).save(os.path.join(out, "tiff_named.jpg"), "TIFF", compression="tiff_adobe_deflate")


def segments(data):
    """The marker segments after SOI, a scan with its entropy-coded data."""
    found, at = [], 2
    while at < len(data):
        marker = data[at + 1]
        if marker == 0xD9:
            found.append((marker, data[at:at + 2]))
            break
        end = at + 2 + struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
        found.append((marker, data[at:end]))
        at = end
    return found


with tempfile.TemporaryDirectory() as tmp:
    base = os.path.join(tmp, "base.jpg")
    Image.fromarray((np.random.default_rng(0).random((40, 40, 3)) * 255).astype("uint8")).save(base, quality=90)

    def progressive(lines):
        script, result = os.path.join(tmp, "scans.txt"), os.path.join(tmp, "out.jpg")
        open(script, "w").write("\n".join(lines) + "\n")
        subprocess.run(["jpegtran", "-scans", script, "-outfile", result, base], check=True)
        return open(result, "rb").read()

    parts = [progressive(["0 1 2: 0 0 0 0;"] + [f"{c}: {k} {k} 0 0;" for k in range(1, 64)]) for c in range(3)]
    spliced = b"\xff\xd8" + b"".join(s for _, s in segments(parts[0])[:-1])
    for other in parts[1:]:
        found = segments(other)
        first_scan = next(i for i, (m, _) in enumerate(found) if m == 0xDA)
        spliced += b"".join(s for _, s in found[first_scan + 1:-1])  # its AC scans and their tables
    open(os.path.join(out, "many_scans.jpg"), "wb").write(spliced + b"\xff\xd9")
    hundred = progressive(["0 1 2: 0 0 0 0;"] + [f"0: {k} {k} 0 0;" for k in range(1, 64)] +
                          [f"1: {k} {k} 0 0;" for k in range(1, 37)])
    open(os.path.join(out, "scans_100.jpg"), "wb").write(hundred)
    found = segments(hundred)
    open(os.path.join(out, "empty_scans.jpg"), "wb").write(b"\xff\xd8" + b"".join(s for _, s in found[:-1]) +
                                                          found[-2][1] * 20000 + b"\xff\xd9")

with tempfile.TemporaryDirectory() as tmp:
    base, script, result = (os.path.join(tmp, n) for n in ("base.jpg", "scans.txt", "out.jpg"))
    Image.new("RGB", (4096, 4096), (90, 140, 200)).save(base, quality=90)  # flat: every AC scan is empty
    open(script, "w").write("0 1 2: 0 0 0 0;\n0: 1 1 0 0;\n")
    subprocess.run(["jpegtran", "-scans", script, "-outfile", result, base], check=True)
    found = segments(open(result, "rb").read())
    open(os.path.join(out, "empty_scans_large.jpg"), "wb").write(b"\xff\xd8" + b"".join(s for _, s in found[:-1]) +
                                                                found[-2][1] * 20000 + b"\xff\xd9")

buffer = io.BytesIO()
Image.fromarray((np.random.default_rng(1).random((40, 40, 3)) * 255).astype("uint8")).save(buffer, "JPEG")
whole = buffer.getvalue()
open(os.path.join(out, "truncated_eoi.jpg"), "wb").write(whole[:len(whole) // 2] + b"\xff\xd9")
print("wrote hostile data files to", out)
