#!/usr/bin/python3
"""The hostile inputs of issue #32 (untrusted files, second round) through the commands
that read them, run by two segdistill builds, as one markdown table: hostile input,
command, then exit code, message, peak memory and time before and after.

    round2.py --before CMD --after CMD --work DIR [--only ITEM,...] [--trojan-dir DIR]

CMD is how to run a segdistill ("build/bin/segdistill", or a wrapper script of an older
build). DIR is emptied and filled with the toy data set, a trained checkpoint and the
hostile files (written by tests/python/write_hostile_*.py with torch.save, PIL, zipfile
and jpegtran). --trojan-dir is the test plugin folder whose library declares API 999 and
writes $SEGDISTILL_TROJAN_MARKER from a load-time constructor (build/tests/plugins/trojan).
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PYTHON = "/usr/bin/python3"

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--before", required=True)
parser.add_argument("--after", required=True)
parser.add_argument("--work", required=True)
parser.add_argument("--only", default="")
parser.add_argument("--trojan-dir", default=os.path.join(SOURCE, "build/tests/plugins/trojan"))
options = parser.parse_args()
work = os.path.abspath(options.work)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def path(*parts):
    return os.path.join(work, *parts)


def write(name, text):
    os.makedirs(os.path.dirname(path(name)), exist_ok=True)
    with open(path(name), "w") as f:
        f.write(text)
    return path(name)


def run_checked(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Shared fixtures: toy data, a config, a trained run, the hostile files.
after = shlex.split(options.after)
run_checked(after + ["make-toy-dataset", "--output", path("toy"), "--train", "4", "--val", "3", "--size", "40"])
NETWORK = ('backbone = {type = "resnet18", width = 0.125}\n'
           'head = {type = "deeplabv3plus", aspp_channels = 16, low_level_channels = 8, decoder_channels = 16}\n')


def config(name, root=None, extra="", train_extra=""):
    root = root or path("toy")
    return write(name + ".toml", f'_base_ = "{SOURCE}/configs/_base_/toy_data.toml"\n'
                 f'[data.train]\nroot = "{root}"\npipeline = [{{type = "random_scale_crop", base_size = 40, '
                 f'crop_size = [32], scale_range = [1.0, 1.0]}}, {{type = "normalize"}}]\n'
                 f'[data.val]\nroot = "{root}"\n[model]\nnum_classes = 6\n{NETWORK}{extra}'
                 f'[train]\niterations = 4\nbatch_size = 2\nworkers = 1\nseed = 1\noptimizer = {{lr = 0.01, momentum = 0.9}}\n'
                 f'checkpoint_every = 2\n{train_extra}')


CONFIG = config("run")
run_checked(after + ["--threads", "1", "train", CONFIG, "--work-dir", path("good")])
GOOD = path("good/checkpoints/iter_4.pt")
run_checked([PYTHON, f"{SOURCE}/tests/python/write_hostile_checkpoints.py", GOOD, path("hc"), path("marker")])
run_checked([PYTHON, f"{SOURCE}/tests/python/write_hostile_data.py", path("hd")])


def toy_with(name, image):
    """A copy of the toy data whose first training image is the hostile `image`."""
    root = path("t_" + name)
    shutil.copytree(path("toy"), root)
    shutil.copy(path("hd", image), os.path.join(root, "JPEGImages", "toy_000000.jpg"))
    return config("c_" + name, root)


# Each scenario: (item, hostile input, command text, prepare(build) -> argv, options).
# prepare runs before each build's run; `check(build)` returns extra text for the row.
scenarios = []


def scenario(item, hostile, command, prepare, timeout=60.0, grep=None, check=None, env=None):
    scenarios.append(dict(item=item, hostile=hostile, command=command, prepare=prepare, timeout=timeout, grep=grep, check=check,
                          env=env))


def slot(tag, build):
    """A name of its own for one scenario and one build."""
    return tag + ("_after" if build == after else "_before")


def fixed(argv):
    return lambda build: build + argv


scenario("1", "780-byte state dict: one float expanded (stride 0) to 2^28 elements", "import-checkpoint",
         fixed(["import-checkpoint", CONFIG, "--from", path("hc/stride0_state_dict.pt"), "--output", path("x.pt")]))
scenario("1", "segdistill checkpoint, one weight a stride-0 view of 2^28 elements", "eval",
         fixed(["--threads", "1", "eval", CONFIG, "--checkpoint", path("hc/stride0_checkpoint.pt")]))
scenario("2", "torch.save([None] * 4M), zip format (4.2 MB)", "import-checkpoint",
         fixed(["import-checkpoint", CONFIG, "--from", path("hc/none_list.pt"), "--output", path("x.pt")]))
scenario("2", "the same, legacy format", "import-checkpoint",
         fixed(["import-checkpoint", CONFIG, "--from", path("hc/none_list_legacy.pt"), "--output", path("x.pt")]))
scenario("3", "678-byte JPEG declaring 30000 x 30000, a stray byte before its frame header", "data check",
         fixed(["data", "check", toy_with("stray", "stray_byte.jpg"), "--split", "train"]), grep="toy_000000")
scenario("3", "the same JPEG", "predict",
         lambda build: build + ["--threads", "1", "predict", CONFIG, "--checkpoint", GOOD, "--input",
                                path("t_stray/JPEGImages/toy_000000.jpg"), "--output", path(slot("pred", build))])
scenario("3", "deflate TIFF (PIL, 2000 x 2000) named .jpg", "data check",
         fixed(["data", "check", toy_with("tiff", "tiff_named.jpg"), "--split", "train"]), grep="toy_000000")
scenario("4", "progressive JPEG, 4096 x 4096, one scan repeated 20,000 times (709 KB)", "data check",
         fixed(["data", "check", toy_with("scans", "empty_scans_large.jpg"), "--split", "train"]), grep="toy_000000",
         timeout=120)
scenario("4", "valid progressive JPEG of 190 scans (jpegtran, spliced)", "data check",
         fixed(["data", "check", toy_with("many", "many_scans.jpg"), "--split", "train"]), grep="toy_000000")


# 5: a list id that climbs out of the data root.
def escaping_list(build, tag="esc"):
    name = slot(tag, build)
    root = path(name, "data", "toy")
    shutil.copytree(path("toy"), root)
    victim = path(name, "data", "victim")
    os.makedirs(victim)
    shutil.copy(os.path.join(root, "JPEGImages/toy_000000.jpg"), os.path.join(victim, "v.jpg"))
    shutil.copy(os.path.join(root, "SegmentationClass/toy_000000.png"), os.path.join(victim, "v.png"))
    with open(os.path.join(root, "ImageSets/Segmentation/val.txt"), "a") as f:
        f.write("../../victim/v\n")
    return build + ["--threads", "1", "eval", config(name, root), "--checkpoint", GOOD, "--save-pred", path(name, "preds/a/b")]


def escaped_write(build):
    name = slot("esc", build)
    written = os.path.exists(path(name, "preds/victim/v.png"))
    return "wrote preds/victim/v.png, outside --save-pred" if written else "nothing written outside --save-pred"


scenario("5", "split list line `../../victim/v`", "eval --save-pred preds/a/b", escaping_list, check=escaped_write)


def escaping_check(build):
    argv = escaping_list(build, "esc_check")
    return build + ["data", "check", argv[argv.index("eval") + 1], "--split", "val"]


scenario("5", "the same list", "data check", escaping_check)


# 6: links planted in the work dir.
def planted_tmp(build):
    name = slot("tmp_link", build)
    os.makedirs(path(name, "run/checkpoints"))
    write(name + "/outside.txt", "precious\n")
    os.symlink(path(name, "outside.txt"), path(name, "run/checkpoints/iter_2.pt.tmp"))
    return build + ["--threads", "1", "train", CONFIG, "--work-dir", path(name, "run")]


def outside_intact(tag):
    return lambda build: outside_text(slot(tag, build))


def outside_text(name):
    text = open(path(name, "outside.txt"), "rb").read()
    return "outside file intact" if text == b"precious\n" else f"outside file rewritten ({len(text)} bytes)"


scenario("6", "symlink at WORK/checkpoints/iter_2.pt.tmp to a file outside", "train", planted_tmp,
         check=outside_intact("tmp_link"))


def planted_export(build):
    name = slot("export_link", build)
    os.makedirs(path(name))
    write(name + "/outside.txt", "precious\n")
    os.symlink(path(name, "outside.txt"), path(name, "student.pth.tmp"))
    return build + ["export-checkpoint", CONFIG, "--checkpoint", GOOD, "--output", path(name, "student.pth")]


scenario("6", "symlink at OUTPUT.tmp", "export-checkpoint", planted_export, check=outside_intact("export_link"))


def linked_log(build):
    name = slot("log_link", build)
    shutil.copytree(path("good"), path(name, "run"), symlinks=True)
    write(name + "/outside.txt", "precious\n")
    os.remove(path(name, "run/log.txt"))
    os.symlink(path(name, "outside.txt"), path(name, "run/log.txt"))
    return build + ["--threads", "1", "train", CONFIG, "--work-dir", path(name, "run"), "--resume", "--resume-changed", "--set",
                    "train.iterations=6"]


scenario("6", "WORK/log.txt a symlink to a file outside", "train --resume", linked_log, check=outside_intact("log_link"))


def linked_checkpoints(build):
    name = slot("dir_link", build)
    run_checked(after + ["--threads", "1", "train", CONFIG, "--work-dir", path(name, "other"), "--set", "train.checkpoint_every=1",
                         "--set", "train.keep_last=10"])
    shutil.copytree(path("good"), path(name, "run"), symlinks=True)
    shutil.rmtree(path(name, "run/checkpoints"))
    os.symlink(path(name, "other/checkpoints"), path(name, "run/checkpoints"))
    return build + ["--threads", "1", "train", CONFIG, "--work-dir", path(name, "run"), "--resume", "--resume-changed", "--set",
                    "train.iterations=8", "--set", "train.keep_last=1"]


def other_run_intact(build):
    name = slot("dir_link", build)
    kept = sorted(f for f in os.listdir(path(name, "other/checkpoints")) if f.startswith("iter_"))
    return "other run's checkpoints: " + (", ".join(kept) if kept else "none left")


scenario("6", "WORK/checkpoints a symlink to another run's checkpoints", "train --resume", linked_checkpoints,
         check=other_run_intact)


# 7 and 8: FIFOs and devices.
def fifo(name):
    if not os.path.exists(path(name)):
        os.mkfifo(path(name))
    return path(name)


scenario("7", "FIFO as the config", "config check", lambda build: build + ["config", "check", fifo("fifo.toml")], timeout=10)
scenario("7", "FIFO as --from", "import-checkpoint",
         lambda build: build + ["import-checkpoint", CONFIG, "--from", fifo("fifo.pt"), "--output", path("x.pt")], timeout=10)
scenario("7", "FIFO as teacher.checkpoint", "train",
         lambda build: build + ["--threads", "1", "train", config("teach_fifo", extra=f'[teacher]\n{NETWORK}checkpoint = "{fifo("fifo_t.pt")}"\n'
                                                              '[[distillers]]\ntype = "tat_anchor_point"\nstudent_feature = "head.decoder"\n'
                                                              'teacher_feature = "head.decoder"\nanchors = [2, 2]\n'), "--work-dir",
                                path(slot("fifo_run", build))], timeout=10)


def fifo_list(build):
    root = path("fifo_toy")
    if not os.path.exists(root):
        shutil.copytree(path("toy"), root)
        os.remove(os.path.join(root, "ImageSets/Segmentation/val.txt"))
        os.mkfifo(os.path.join(root, "ImageSets/Segmentation/val.txt"))
    return build + ["data", "check", config("fifo_list", root), "--split", "val"]


scenario("7", "FIFO as the split list", "data check", fifo_list, timeout=10)
scenario("8", "/dev/zero as model.init_from", "train",
         lambda build: build + ["--threads", "1", "train", CONFIG, "--work-dir", path(slot("zero_init", build)), "--set",
                                'model.init_from="/dev/zero"'], timeout=30)


def zero_list(build):
    root = path("zero_toy")
    if not os.path.exists(root):
        shutil.copytree(path("toy"), root)
        os.remove(os.path.join(root, "ImageSets/Segmentation/val.txt"))
        os.symlink("/dev/zero", os.path.join(root, "ImageSets/Segmentation/val.txt"))
    return build + ["config", "check", config("zero_list", root)]


scenario("8", "the split list a link to /dev/zero", "config check", zero_list, timeout=30)


# 9: a _base_ diamond.
def diamond(build):
    for i in range(41):
        nxt = f'_base_ = ["d{i + 1}.toml", "d{i + 1}.toml"]\n' if i < 40 else ""
        write(f"diamond/d{i}.toml", nxt + f"k{i} = {i}\n")
    return build + ["config", "show", path("diamond/d0.toml")]


scenario("9", "41 configs, each naming the next twice in _base_", "config show", diamond, timeout=60)
scenario("10", "legacy state dict, storage key list emptied (zeros after it)", "import-checkpoint",
         fixed(["import-checkpoint", CONFIG, "--from", path("hc/empty_storage_list_legacy.pt"), "--output", path("x.pt")]))
scenario("10", "40 x 40 JPEG cut in half, end marker appended", "data check",
         fixed(["data", "check", toy_with("cut", "truncated_eoi.jpg"), "--split", "train"]), grep="toy_000000")
scenario("11", "tensor of sizes [2^62, 2^62, 0]", "eval",
         fixed(["--threads", "1", "eval", CONFIG, "--checkpoint", path("hc/numel_overflow.pt")]))
scenario("11", "a folder as model.init_from", "train",
         lambda build: build + ["--threads", "1", "train", CONFIG, "--work-dir", path(slot("dir_init", build)), "--set",
                                f'model.init_from="{path("hc")}"'])
scenario("11", "a config key holding ESC [31m (written \\u001b)", "config check",
         lambda build: build + ["config", "check", write("escape.toml", open(CONFIG).read().replace("[train]", '[train]\n"bad\\u001b[31mkey" = 1'))])


# 12: plugins.
def trojan(build):
    return build + ["plugins", "--plugin-dir", options.trojan_dir]


def trojan_env(build):
    return {"SEGDISTILL_TROJAN_MARKER": path(slot("trojan", build))}


def trojan_ran(build):
    ran = os.path.exists(path(slot("trojan", build)))
    if ran:
        os.remove(path(slot("trojan", build)))
    return "constructor ran" if ran else "constructor never ran"


scenario("12", "plugin declaring API 999 whose constructor writes a file", "plugins --plugin-dir", trojan, check=trojan_ran,
         env=trojan_env)
scenario("12", "config whose [plugins] dirs names that folder", "config check",
         lambda build: build + ["config", "check", write("plugin_cfg.toml", open(CONFIG).read() +
                                                          f'[plugins]\ndirs = ["{options.trojan_dir}"]\n')],
         check=trojan_ran, env=trojan_env)
scenario("14", "crop_size = [16384]", "train",
         lambda build: build + ["--threads", "1", "train", config("huge_crop", train_extra=""), "--work-dir",
                                path(slot("crop", build)), "--set",
                                "data.train.pipeline=[{type=\"random_scale_crop\", base_size=16384, crop_size=[16384], "
                                "scale_range=[1.0, 1.0]}, {type=\"normalize\"}]"], timeout=120)
scenario("14", "model.num_classes = 100000000", "train",
         lambda build: build + ["--threads", "1", "train", CONFIG, "--work-dir", path(slot("classes", build)),
                                "--set", "model.num_classes=100000000"], timeout=120)


def measure(scenario_, build):
    argv = scenario_["prepare"](build)
    env = scenario_["env"](build) if scenario_["env"] else None
    command = [PYTHON, os.path.join(HERE, "measure.py"), "--timeout", str(scenario_["timeout"])]
    if scenario_["grep"]:
        command += ["--grep", scenario_["grep"]]
    result = subprocess.run(command + ["--"] + argv, stdout=subprocess.PIPE, env={**os.environ, **(env or {})}, check=True)
    row = json.loads(result.stdout)
    if scenario_["check"]:
        extra = scenario_["check"](build)
        if extra:
            row["message"] = extra + "; " + row["message"]
    return row


def orphans(build):
    """Item 13: kill -9 the --nproc 2 launcher; are its workers alive 5 s later?"""
    name = slot("orphan", build)
    cfg = config(name, train_extra="")
    process = subprocess.Popen(build + ["--threads", "1", "train", cfg, "--work-dir", path(name), "--nproc", "2", "--set",
                                        "train.iterations=100000", "--set", "train.checkpoint_every=1000", "--set", "train.batch_size=4"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(8)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], stdout=subprocess.PIPE, text=True).stdout.split()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(5)
    alive = [w for w in workers if os.path.exists(f"/proc/{w}") and "Z" not in open(f"/proc/{w}/stat").read().split()[2]]
    for w in alive:
        os.kill(int(w), signal.SIGKILL)
    return {"exit": "launcher SIGKILLed", "peak_mib": None, "seconds": 5,
            "message": f"{len(alive)} of {len(workers)} workers still running 5 s later"}


def cell(row):
    memory = f"{row['peak_mib']} MiB" if row.get("peak_mib") else "-"
    message = row["message"].replace("|", "\\|").replace(work, "D").replace(SOURCE, "SRC")
    message = message.replace("\x1b", "␛")  # the raw byte would recolour the table's reader
    if row.get("stderr_has_escape_byte"):
        message += " (raw ESC byte on the terminal)"
    return f"{row['exit']}, {memory}, {row['seconds']} s: {message or '(no message)'}"


only = set(filter(None, options.only.split(",")))
print("| # | hostile input | command | before | after |")
print("|---|---|---|---|---|")
builds = {"before": shlex.split(options.before), "after": after}
for s in scenarios:
    if only and s["item"] not in only:
        continue
    cells = [cell(measure(s, builds[b])) for b in ("before", "after")]
    print(f"| {s['item']} | {s['hostile']} | {s['command']} | {cells[0]} | {cells[1]} |", flush=True)
if not only or "13" in only:
    cells = [cell(orphans(builds[b])) for b in ("before", "after")]
    print(f"| 13 | kill -9 of the launcher | train --nproc 2 | {cells[0]} | {cells[1]} |", flush=True)
