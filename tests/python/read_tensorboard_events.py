"""Reads TensorBoard event files back as a test of segdistill's writer, independently of
it: the messages are compiled by protoc from the project's .proto into a temporary folder
and parsed by python3-protobuf; the TFRecord framing (little-endian length, masked
CRC-32C of the length and of the data) is checked here with a CRC written from the
format's definition (Castagnoli polynomial, bit by bit).

usage: read_tensorboard_events.py PROTO EVENT_FILE  -> JSON on stdout:
  {"records": N, "events": [{"step", "wall_time", "file_version"?, "session_start"?: true, "scalars"?: {tag: value},
   "images"?: [{"tag", "height", "width", "png_width", "png_height"}]}]}
Exits 1 with a message on any framing or parsing error."""
import importlib
import json
import os
import struct
import subprocess
import sys
import tempfile


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def compile_messages(proto):
    out = tempfile.mkdtemp()
    folder, name = os.path.split(os.path.abspath(proto))
    subprocess.run(["protoc", "-I", folder, "--python_out", out, name], check=True)
    sys.path.insert(0, out)
    return importlib.import_module(name[:-len(".proto")] + "_pb2")


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def main():
    messages = compile_messages(sys.argv[1])
    raw = open(sys.argv[2], "rb").read()
    events, at = [], 0
    while at < len(raw):
        if at + 12 > len(raw):
            sys.exit("truncated header at byte %d" % at)
        header = raw[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", raw[at + 8:at + 12])
        if header_crc != masked(header):
            sys.exit("bad length CRC at byte %d" % at)
        data = raw[at + 12:at + 12 + length]
        if len(data) != length or at + 16 + length > len(raw):
            sys.exit("truncated record at byte %d" % at)
        (data_crc,) = struct.unpack("<I", raw[at + 12 + length:at + 16 + length])
        if data_crc != masked(data):
            sys.exit("bad data CRC at byte %d" % at)
        at += 16 + length
        event = messages.Event()
        event.ParseFromString(data)
        out = {"step": event.step, "wall_time": event.wall_time}
        if event.HasField("file_version"):
            out["file_version"] = event.file_version
        if event.HasField("session_log") and event.session_log.status == messages.SessionLog.START:
            out["session_start"] = True
        if event.HasField("summary"):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    out.setdefault("scalars", {})[value.tag] = value.simple_value
                elif value.HasField("image"):
                    w, h = png_size(value.image.encoded_image_string)
                    out.setdefault("images", []).append({
                        "tag": value.tag, "height": value.image.height, "width": value.image.width,
                        "colorspace": value.image.colorspace, "png_width": w, "png_height": h})
        events.append(out)
    print(json.dumps({"records": len(events), "events": events}))


if __name__ == "__main__":
    main()
