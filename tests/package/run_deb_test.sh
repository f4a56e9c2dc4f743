#!/usr/bin/env bash
# The Debian packages as a user gets them: tools/package.sh makes them from the build
# tree; their control fields and contents are checked; dpkg installs them into a private
# root (its own database, so the machine's /usr is untouched); every dependency they
# declare is a package installed on this machine; the installed command finds the
# installed plugins, not the build tree's, checks a shipped config and trains and
# evaluates the toy teacher; an out-of-tree plugin builds against the installed SDK.
#   run_deb_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$(cd "$1" && pwd)"
source_dir="$(cd "$2" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$source_dir/tools/package.sh" --build-dir "$build_dir" --output "$work/debs" --no-build > "$work/made.txt"
cat "$work/made.txt"
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build_dir/CMakeCache.txt")"
arch="$(dpkg --print-architecture)"
runtime="$work/debs/segdistill_${version}_${arch}.deb"
dev="$work/debs/segdistill-dev_${version}_${arch}.deb"
[ -f "$runtime" ] || fail "no $runtime"
[ -f "$dev" ] || fail "no $dev"

field() { dpkg-deb --field "$1" "$2"; }
[ "$(field "$runtime" Package)" = segdistill ] || fail "runtime package name"
[ "$(field "$dev" Package)" = segdistill-dev ] || fail "dev package name"
[ "$(field "$runtime" Version)" = "$version" ] || fail "runtime version"
runtime_depends="$(field "$runtime" Depends)"
dev_depends="$(field "$dev" Depends)"
echo "segdistill Depends: $runtime_depends"
echo "segdistill-dev Depends: $dev_depends"
# dpkg-shlibdeps names the Debian libraries the binaries link.
for library in libtorch libopencv-core libopencv-imgcodecs libspdlog libboost-filesystem libmatio libprotobuf libc6; do
  grep -q "$library" <<<"$runtime_depends" || fail "segdistill does not depend on $library: $runtime_depends"
done
grep -q "segdistill (= $version)" <<<"$dev_depends" || fail "segdistill-dev does not depend on segdistill (= $version)"
# Every declared dependency (the first of each alternative) is an installed package here,
# or provided by one (libspdlog1.10 provides libspdlog1.10-fmt9).
dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Provides}\n' | awk '$1 == "ii" { $1 = ""; print }' |
  tr ',' '\n' | sed -e 's/(.*//' -e 's/:any//' | tr ' ' '\n' | grep -v '^$' | sort -u > "$work/available.txt"
for depends in "$runtime_depends" "$dev_depends"; do
  while read -r package; do
    [ "$package" = segdistill ] && continue
    grep -qx -- "$package" "$work/available.txt" || fail "declared dependency $package is not installed or provided here"
  done < <(tr ',' '\n' <<<"$depends" | sed -e 's/|.*//' -e 's/(.*//' -e 's/:any//' -e 's/ //g' | grep -v '^$')
done

# Paths only: the five columns before them and a link's target dropped.
contents() { dpkg-deb --contents "$1" | sed -E -e 's/^([^ ]+ +){5}//' -e 's/ -> .*$//'; }
contents "$runtime" > "$work/runtime.txt"
contents "$dev" > "$work/dev.txt"
for file in ./usr/bin/segdistill ./usr/lib/libsegdistill.so.0 ./usr/lib/segdistill/plugins/segdistill_tat.so \
            ./usr/lib/segdistill/plugins/segdistill_backbones.so ./usr/share/segdistill/configs/voc/tat_r101_r18.toml; do
  grep -qx -- "$file" "$work/runtime.txt" || fail "segdistill lacks $file"
done
for file in ./usr/include/segdistill/plugin/plugin_api.hpp ./usr/lib/cmake/segdistill/segdistillConfig.cmake ./usr/lib/libsegdistill.so; do
  grep -qx -- "$file" "$work/dev.txt" || fail "segdistill-dev lacks $file"
done
! grep -q "include/" "$work/runtime.txt" || fail "headers in the runtime package"
! grep -q "segdistill_test\|tests/" "$work/runtime.txt" || fail "test files in the runtime package"

# dpkg itself installs them, into a private root with an empty database of its own.
root="$work/root"
admin="$work/dpkg"
mkdir -p "$root" "$admin/info" "$admin/updates" "$admin/triggers"
touch "$admin/status" "$admin/available"
dpkg --force-not-root --force-depends --force-script-chrootless --root="$root" --admindir="$admin" \
  --log=/dev/null -i "$runtime" "$dev" > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
dpkg-query --admindir="$admin" -W -f='${Package} ${Version} ${Status}\n' | tee "$work/installed.txt"
[ "$(grep -c "install ok installed" "$work/installed.txt")" = 2 ] || fail "dpkg does not list both packages as installed"

segdistill=("$root/usr/bin/segdistill" --threads 1 --log-level warn)
plugins="$("${segdistill[@]}" plugins)"
grep -q "$root/usr/lib/segdistill/plugins/segdistill_tat.so" <<<"$plugins" || fail "installed plugins not found: $plugins"
! grep -q "$build_dir" <<<"$plugins" || fail "the installed command loaded build-tree plugins"
"${segdistill[@]}" config check "$root/usr/share/segdistill/configs/voc/tat_r101_r18.toml" ||
  fail "a shipped config does not check"

cd "$work"  # the toy configs name data/ and work_dirs/ relative to the working folder
"${segdistill[@]}" make-toy-dataset --output data/toy --train 8 --val 4 --size 96 > /dev/null
"${segdistill[@]}" train "$root/usr/share/segdistill/configs/toy/teacher.toml" --set train.iterations=4 \
  --set train.batch_size=4 --set train.workers=1 --set train.log_every=1 --set train.checkpoint_every=4 \
  --set train.eval_every=0
"${segdistill[@]}" eval "$root/usr/share/segdistill/configs/toy/teacher.toml" \
  --checkpoint work_dirs/toy/teacher/checkpoints/latest --json eval.json > eval.txt
python3 -c "import json, sys; r = json.load(open('eval.json')); assert 0 <= r['mIoU'] <= 1, r; print('mIoU', r['mIoU'])"

# The -dev package is enough to build a plugin: find_package(segdistill) from its root.
cmake -S "$source_dir/tests/package" -B "$work/plugin" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/usr" -DPLUGIN_SOURCE_DIR="$source_dir/tests/plugins" > /dev/null
cmake --build "$work/plugin" > /dev/null
# Captured first: grep -q stops reading at its match, and pipefail would count the
# command's broken pipe as a failure.
with_plugin="$("${segdistill[@]}" --plugin-dir "$work/plugin" plugins)"
grep -q tiny_test_backbone <<<"$with_plugin" ||
  fail "a plugin built against the installed SDK was not loaded"
echo "Debian package test passed"
