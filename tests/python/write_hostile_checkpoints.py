#!/usr/bin/python3
"""Writes hostile checkpoint files for the tests, each as an attacker or a broken disk
would make it, with Python's own writers (torch.save, torch.jit.save, zipfile).

    write_hostile_checkpoints.py GOOD_CHECKPOINT OUT_DIR MARKER_FILE

GOOD_CHECKPOINT is a segdistill training checkpoint. Files written to OUT_DIR:
  scripted_<group>.pt   the checkpoint with a TorchScript module (as bytes) in <group>;
                        the module's __setstate__ prints SEGDISTILL_PROBE_RAN and tries
                        to open MARKER_FILE, so running it shows
  scripted_v1.pt        the format-1 layout (optimizer state = TorchScript archive)
  tuple3_empty.pt, build_empty.pt, memo_missing.pt, nested_lists.pt, cycle.pt
                        zip archives whose data.pkl is a hostile pickle
  huge_storage.pt       a storage reference declaring 2^60 elements for 8 bytes
  bad_crc.pt            GOOD_CHECKPOINT with one byte of a tensor flipped
  nan_weight.pt         GOOD_CHECKPOINT with a NaN in one model weight
  stride0_state_dict.pt a state dict (torch.save) whose tensor is one stored float
                        expanded (stride 0) to 2^28 elements: 1 GiB when materialised
  stride0_checkpoint.pt GOOD_CHECKPOINT with one model weight replaced the same way
  none_list.pt, none_list_legacy.pt
                        torch.save([None] * 4 M) in the zip and the legacy format: one
                        pickle byte per value
  empty_storage_list_legacy.pt
                        a legacy state dict whose list of storage keys is empty, the
                        storage bytes replaced by zeros (the tensors would be left
                        uninitialised)
  numel_overflow.pt     a tensor of sizes (2^62, 2^62, 0): LibTorch's element count overflows
"""
import io
import os
import sys
import zipfile
from typing import Tuple

import torch

good, out_dir, marker = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out_dir, exist_ok=True)


def scripted_module_bytes():
    source = f'''
import torch
from typing import Tuple
class Probe(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.x = 1
    @torch.jit.export
    def __getstate__(self):
        return (self.x, self.training)
    @torch.jit.export
    def __setstate__(self, state: Tuple[int, bool]):
        print("SEGDISTILL_PROBE_RAN")
        t = torch.from_file({marker!r}, True, 8, dtype=torch.uint8)
        self.x = state[0] + int(t.numel())
        self.training = state[1]
    def forward(self, x):
        return x
'''
    # TorchScript compiles from source files: write the module out and import it.
    path = os.path.join(out_dir, "probe_module.py")
    with open(path, "w") as f:
        f.write(source)
    sys.path.insert(0, out_dir)
    import probe_module
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(probe_module.Probe()), buffer)
    return torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)


checkpoint = torch.load(good)
probe = scripted_module_bytes()


def with_group(name, tensors, version=None):
    c = {k: v for k, v in checkpoint.items()}
    c["groups"] = {k: dict(v) for k, v in checkpoint["groups"].items()}
    c["groups"][name] = tensors
    if version is not None:
        c["format_version"] = version
    return c


for group in ["model", "optimizer", "rng", "distillers", "extra"]:
    tensors = dict(checkpoint["groups"].get(group, {}))
    tensors["state" if group != "rng" else "cpu"] = probe
    torch.save(with_group(group, tensors), os.path.join(out_dir, f"scripted_{group}.pt"))
torch.save(with_group("optimizer", {"state": probe}, version=1), os.path.join(out_dir, "scripted_v1.pt"))


def pickle_zip(name, data_pkl, extra=()):
    with zipfile.ZipFile(os.path.join(out_dir, name), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        for entry, data in extra:
            z.writestr(entry, data)


pickle_zip("tuple3_empty.pt", b"\x80\x02\x87.")
pickle_zip("build_empty.pt", b"\x80\x02b.")
pickle_zip("memo_missing.pt", b"\x80\x02h\x05.")
levels = 200_000  # within the reader's memory budget, so that the depth check is what refuses it
pickle_zip("nested_lists.pt", b"\x80\x02" + b"]" * levels + b"a" * (levels - 1) + b".")
pickle_zip("cycle.pt", b"\x80\x02]q\x00h\x00a.")
# (storage, torch.FloatStorage, '0', 'cpu', 2**60) rebuilt as a tensor of 4 elements.
huge = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(("
        b"X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
        b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x10tQK\x00K\x04\x85K\x01\x85\x89NtR.")
pickle_zip("huge_storage.pt", huge, [("archive/data/0", b"\x00" * 8)])

# A flipped byte inside a tensor's bytes: the zip's CRC-32 no longer matches.
with zipfile.ZipFile(good) as z:
    names = [i for i in z.infolist() if "/data/" in i.filename and i.file_size >= 64]
    victim = max(names, key=lambda i: i.file_size)
raw = bytearray(open(good, "rb").read())
header = victim.header_offset
name_len = int.from_bytes(raw[header + 26:header + 28], "little")
extra_len = int.from_bytes(raw[header + 28:header + 30], "little")
raw[header + 30 + name_len + extra_len + victim.file_size // 2] ^= 0x40
open(os.path.join(out_dir, "bad_crc.pt"), "wb").write(bytes(raw))

nan = with_group("model", dict(checkpoint["groups"]["model"]))
weight = next(k for k, v in nan["groups"]["model"].items() if v.is_floating_point() and v.numel() > 4)
nan["groups"]["model"][weight] = nan["groups"]["model"][weight].clone()
nan["groups"]["model"][weight].view(-1)[3] = float("nan")
torch.save(nan, os.path.join(out_dir, "nan_weight.pt"))
# Views larger than their storage: one float expanded to 2^28 elements (1 GiB as float32).
torch.save({"weight": torch.zeros(1).expand(1 << 28)}, os.path.join(out_dir, "stride0_state_dict.pt"))
stride0 = with_group("model", dict(checkpoint["groups"]["model"]))
name = next(k for k, v in stride0["groups"]["model"].items() if v.is_floating_point() and v.dim() == 1)
stride0["groups"]["model"][name] = torch.zeros(1).expand(1 << 28)
torch.save(stride0, os.path.join(out_dir, "stride0_checkpoint.pt"))

# One pickle byte per value (N = None), in both formats of torch.save.
torch.save([None] * (4 << 20), os.path.join(out_dir, "none_list.pt"))
torch.save([None] * (4 << 20), os.path.join(out_dir, "none_list_legacy.pt"), _use_new_zipfile_serialization=False)

# A legacy state dict whose storage key list is empty: the pickles are read back with
# Python's own unpickler to find where the key list starts.
legacy = io.BytesIO()
torch.save(dict(checkpoint["groups"]["model"]), legacy, _use_new_zipfile_serialization=False)  # fits the model
raw = legacy.getvalue()
stream = io.BytesIO(raw)
import pickle


class SkipStorages(pickle.Unpickler):
    def persistent_load(self, pid):
        return None

    def find_class(self, module, name):
        return lambda *args, **kwargs: None


for _ in range(4):  # magic number, protocol version, system info, the object
    SkipStorages(stream).load()
keys_at = stream.tell()
rest = len(raw) - keys_at
empty_keys = pickle.dumps([], protocol=2)
open(os.path.join(out_dir, "empty_storage_list_legacy.pt"), "wb").write(raw[:keys_at] + empty_keys + bytes(rest))

# sizes (2^62, 2^62, 0), strides (0, 0, 0) over an empty float storage.
overflow = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(("
            b"X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x00tQK\x00"
            b"(\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40K\x00t"
            b"(K\x00K\x00K\x00t\x89NtR.")
pickle_zip("numel_overflow_tensor.pt", overflow, [("archive/data/0", b"")])
pickle_zip("numel_overflow.pt", b"\x80\x02}X\x01\x00\x00\x00w" + overflow[2:-1] + b"s.",
           [("archive/data/0", b"")])
print("wrote hostile checkpoints to", out_dir)
