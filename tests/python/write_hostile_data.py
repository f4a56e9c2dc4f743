#!/usr/bin/python3
"""Writes hostile image, label and .mat files for the tests, with real writers (PIL,
zlib, scipy): small files whose headers ask for huge decodes.

    write_hostile_data.py OUT_DIR

  huge_header.jpg   a 64 x 48 JPEG whose frame header is patched to say 65500 x 65500
  bomb_label.png    a palette PNG of 20000 x 20000 zeros (a few hundred kilobytes)
  bomb.mat          a compressed v5 .mat whose variable S is 2000 x 2000 zeros (the test
                    lowers data.max_image_pixels below that: scipy's compressed writer
                    takes minutes, superlinearly, past about 4000 x 4000)
"""
import io
import os
import struct
import sys
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
print("wrote hostile data files to", out)
