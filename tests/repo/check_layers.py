"""The framework's folders are layers, each including only itself and the layers below
it (docs/architecture.md, "Layers"):

    core < config < plugin < checkpoint < runtime < data < modeling < distill < evaluation < engine

An include of a higher layer's header (`segdistill/<layer>/...` or the private
`<layer>/...`) from framework/src/<layer> or framework/include/segdistill/<layer> fails
this check, naming the file, the line and both layers. KNOWN lists the upward includes
that are still there (open work, README "Status"): the check also fails when one of them
is gone, so that the list only shrinks.

usage: check_layers.py SOURCE_DIR    (exit 0: clean; 1: a finding, printed)
       check_layers.py --self-test   (the check finds an upward include it is given)"""
import os
import re
import sys
import tempfile

LAYERS = ["core", "config", "plugin", "checkpoint", "runtime", "data", "modeling", "distill", "evaluation", "engine"]
# Upward includes still there (open work); empty since each layer registers its own config
# sections and the registries check nested components through config's validator hook.
KNOWN = set()
INCLUDE = re.compile(r'^\s*#\s*include\s+"(?:segdistill/)?([a-z_]+)/')


def findings(source_dir):
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    found, seen_known = [], set()
    for base in ("framework/src", "framework/include/segdistill"):
        top = os.path.join(source_dir, base)
        for folder, _, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp", ".h")):
                    continue
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, source_dir)
                parts = os.path.relpath(path, top).split(os.sep)
                if len(parts) < 2 or parts[0] not in rank:
                    continue  # sdk.hpp and the like: the whole SDK by design
                layer = parts[0]
                with open(path, encoding="utf-8") as text:
                    for number, line in enumerate(text, 1):
                        match = INCLUDE.match(line)
                        if not match or match.group(1) not in rank:
                            continue
                        included = match.group(1)
                        if rank[included] <= rank[layer]:
                            continue
                        if (relative, included) in KNOWN:
                            seen_known.add((relative, included))
                            continue
                        found.append("%s:%d: the %s layer includes %s, of the higher %s layer (order: %s)"
                                     % (relative, number, layer, line.strip(), included, " < ".join(LAYERS)))
    for relative, included in sorted(KNOWN - seen_known):
        found.append("%s no longer includes the %s layer: remove it from KNOWN in %s"
                     % (relative, included, os.path.basename(__file__)))
    return found


def self_test():
    with tempfile.TemporaryDirectory() as root:
        for relative, included in KNOWN:
            path = os.path.join(root, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a", encoding="utf-8") as out:
                out.write('#include "segdistill/%s/x.hpp"\n' % included)
        bad = os.path.join(root, "framework/src/modeling/bad.cpp")
        os.makedirs(os.path.dirname(bad), exist_ok=True)
        with open(bad, "w", encoding="utf-8") as out:
            out.write('#include "segdistill/core/error.hpp"\n#include "segdistill/engine/trainer.hpp"\n')
        found = findings(root)
        expected = "framework/src/modeling/bad.cpp:2: the modeling layer includes"
        if len(found) != 1 or not found[0].startswith(expected):
            sys.exit("self-test: expected one finding starting %r, got %r" % (expected, found))
    print("self-test: the upward include was found")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    found = findings(sys.argv[1])
    for line in found:
        print(line)
    if found:
        sys.exit(1)
    print("every include of framework/ points at its own layer or a lower one (%d known exceptions)" % len(KNOWN))


if __name__ == "__main__":
    main()
