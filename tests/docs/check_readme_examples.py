"""Runs every `segdistill ...` line of README.md's code blocks, as a user copying it would.

usage: check_readme_examples.py SEGDISTILL SOURCE_DIR

In a scratch folder that links the repository's configs/ (and holds a small toy data
set written by `segdistill make-toy-dataset`):
- a synopsis (a line with [options] or placeholders such as CONFIG, DIR): its sub-command
  must exist, and every --option it names must be in that sub-command's --help;
- a concrete command: every --option must be in its sub-command's --help, and
  - on a config whose data is the toy data (configs/toy/..., configs/examples/...): it
    runs, train with 2 iterations; `plot` runs on work dirs trained that way when they are missing;
  - on a config that needs real data or weights (VOC, COCO-Stuff): its config and every
    --set are checked with `segdistill config check`, the paths they name not read;
- an error example (the line after it starts with "segdistill: error:") is checked to
  fail with that error, its config written from the block when the README shows one.
A wrong key, an unknown option or a sub-command that does not exist fails the test."""
import os
import re
import shlex
import subprocess
import sys
import tempfile

SEGDISTILL, SOURCE = sys.argv[1], sys.argv[2]
PLACEHOLDER = re.compile(r"\b(CONFIG|DIR|CKPT|FILE|IMG_OR_DIR|STATE_DICT|COMMAND|LEVEL|KIND|NAME|RUN|OUT|PNG|KEY)\b")
failures = []


def shown_files(text):
    """FILE -> content of each `$ cat FILE` in a code block (the lines up to the next `$ `)."""
    files, lines = {}, text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"\s+\$ cat (\S+)$", line)
        if not m:
            continue
        body = []
        for following in lines[i + 1:]:
            if following.strip().startswith("$ ") or not following.startswith("    "):
                break
            body.append(following.strip())
        files[m.group(1)] = "\n".join(body) + "\n"
    return files


def code_lines(text):
    """(line number, command, next line) of each segdistill command in indented or fenced blocks."""
    lines = text.split("\n")
    out, fenced, i = [], False, 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            fenced = not fenced
            i += 1
            continue
        if fenced or line.startswith("    "):
            stripped = line.strip()
            if stripped.startswith("$ "):
                stripped = stripped[2:]
            if stripped.startswith("segdistill ") or stripped == "segdistill":
                number = i + 1
                while stripped.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    stripped = stripped[:-1] + " " + lines[i].strip()
                following = lines[i + 1].strip() if i + 1 < len(lines) else ""
                out.append((number, stripped, following))
        i += 1
    return out


def run(args, cwd, timeout=600):
    return subprocess.run([SEGDISTILL] + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def strip_comment(command):
    # A '#' after two spaces starts the README's explanation of the line.
    return re.split(r"\s{2,}#", command)[0].strip()


def sub_command(words):
    """The sub-command path (["config", "check"]) and the remaining words."""
    words = words[1:]
    while words and words[0].startswith("--"):  # global options and their values
        takes_value = words[0] in ("--plugin-dir", "--log-level", "--threads")
        words = words[2:] if takes_value else words[1:]
    path = []
    for w in words:
        if w.startswith("-") or w.startswith("[") or "/" in w or "." in w or "=" in w or PLACEHOLDER.search(w):
            break
        path.append(w)
        if len(path) == 2 or w not in ("config", "data"):
            break
    return path, words[len(path):]


help_cache = {}


def help_of(path, cwd):
    key = tuple(path)
    if key not in help_cache:
        r = run(path + ["--help"], cwd)
        help_cache[key] = r.stdout if r.returncode == 0 else None
    return help_cache[key]


def check_options(number, path, words, cwd):
    text = help_of(path, cwd)
    if text is None:
        failures.append("README.md:%d: `segdistill %s` is not a command" % (number, " ".join(path)))
        return False
    global_help = help_of([], cwd) or ""
    for option in re.findall(r"--[a-z][a-z0-9-]*", " ".join(words)):
        if option not in text and option not in global_help:
            failures.append("README.md:%d: %s: no option %s" % (number, " ".join(path), option))
    return True


def sets_of(words):
    out, i = [], 0
    while i < len(words):
        if words[i] == "--set":
            i += 1
            while i < len(words) and not words[i].startswith("--"):
                out.append(words[i])
                i += 1
            continue
        i += 1
    return out


def train_toy(cwd, work_dir):
    r = run(["--threads", "1", "--log-level", "warn", "train", "configs/toy/student.toml", "--work-dir", work_dir,
             "--set", "train.iterations=2", "train.batch_size=2", "train.workers=0"], cwd)
    if r.returncode != 0:
        failures.append("training a toy run for a plot example failed: " + r.stderr[-500:])


def check(number, command, following, cwd, blocks_text):
    command = strip_comment(command)
    if PLACEHOLDER.search(command) or "[" in command or "..." in command:
        words = command.replace("[", " ").replace("]", " ").replace("(", " ").replace(")", " ").replace("|", " ").split()
        path, rest = sub_command(words)
        check_options(number, path, rest, cwd)
        return
    words = shlex.split(command)
    path, rest = sub_command(words)
    if not check_options(number, path, rest, cwd):
        return
    if following.startswith("segdistill: error:"):
        for name, content in shown_files(blocks_text).items():
            with open(os.path.join(cwd, name), "w") as f:
                f.write(content)
        r = run(words[1:], cwd)
        if r.returncode != 1 or following not in r.stderr:
            failures.append("README.md:%d: expected exit 1 and the error shown:\n%s\ngot %d:\n%s" %
                            (number, following, r.returncode, r.stderr[-300:]))
        return
    config = next((w for w in rest if w.endswith(".toml")), None)
    toy = config is not None and config.startswith(("configs/toy/", "configs/examples/"))
    if path == ["plot"]:
        for run_arg in (w for w in rest if not w.startswith("--")):
            if rest[rest.index(run_arg) - 1] in ("--output", "--metrics"):
                continue
            for d in run_arg.split("=", 1)[-1].split(","):
                if not os.path.isdir(os.path.join(cwd, d)):
                    train_toy(cwd, d)
        r = run(words[1:], cwd)
    elif toy and path == ["train"]:
        # A work dir an earlier example made is started afresh (moved aside, not deleted).
        fresh = [] if "--resume" in rest else ["--overwrite"]
        r = run(words[1:] + fresh + ["--set", "train.iterations=2", "train.batch_size=4", "train.workers=0",
                                     "train.eval_every=0"], cwd)
    elif toy:
        r = run(words[1:], cwd)
    elif config is not None:
        r = run(["config", "check", config] + [a for s in sets_of(rest) for a in ("--set", s)], cwd)
    else:
        r = run(words[1:], cwd)
    if r.returncode != 0:
        failures.append("README.md:%d: `%s` failed:\n%s" % (number, command, (r.stderr or r.stdout)[-800:]))


def reference_defaults(section):
    """key -> default of a section's table in docs/config-reference.md (generated from the
    schemas; Docs.ConfigReferenceIsCurrent keeps it so)."""
    text = open(os.path.join(SOURCE, "docs", "config-reference.md")).read()
    start = text.index("### `[%s]`" % section)
    end = text.find("\n### ", start + 1)
    defaults = {}
    for row in text[start:end].split("\n"):
        cells = [c.strip() for c in row.split("|")]
        if len(cells) > 4 and cells[1].startswith("`"):
            defaults[cells[1].strip("`")] = cells[3]
    return defaults


def same_value(readme_value, default):
    readme_value, default = readme_value.strip(), default.strip()
    if readme_value == default:
        return True
    try:
        return float(readme_value) == float(default)
    except ValueError:
        return False


def check_train_defaults(readme):
    """The README's [train] block shows the real defaults (lines marked "example" aside)."""
    defaults = reference_defaults("train")
    lines = readme.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("    [train]") and "default" in l)
    checked = 0
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if not line.startswith("    ") or not line.strip():
            break
        key, _, rest = line.strip().partition("=")
        value, _, comment = rest.partition("#")
        key = key.strip()
        if "example" in comment:
            continue
        if key not in defaults:
            failures.append("README.md:%d: [train] has no key %s" % (number + 1, key))
        elif not same_value(value, defaults[key]):
            failures.append("README.md:%d: train.%s = %s, but its default is %s" % (number + 1, key, value.strip(),
                                                                                     defaults[key]))
        checked += 1
    if checked < 10:
        failures.append("README.md:%d: the [train] defaults block lists only %d keys" % (start + 1, checked))


def main():
    readme = open(os.path.join(SOURCE, "README.md")).read()
    check_train_defaults(readme)
    cwd = tempfile.mkdtemp(prefix="readme_examples_")
    os.symlink(os.path.join(SOURCE, "configs"), os.path.join(cwd, "configs"))
    os.symlink(os.path.join(SOURCE, "plugins"), os.path.join(cwd, "plugins"))
    r = run(["make-toy-dataset", "--output", "data/toy", "--train", "8", "--val", "2", "--size", "64"], cwd)
    if r.returncode != 0:
        sys.exit("make-toy-dataset failed: " + r.stderr)
    lines = code_lines(readme)
    for number, command, following in lines:
        check(number, command, following, cwd, readme)
    print("%d README command lines checked" % len(lines))
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
