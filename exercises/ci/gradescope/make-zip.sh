#!/usr/bin/env bash
# Makes the Gradescope autograder zip: setup.sh and run_autograder at its root and
# the lab suite (this checkout's tracked files at REF, default HEAD) under lab/.
#   exercises/ci/gradescope/make-zip.sh [REF] [OUT.zip]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel)
ref=${1:-HEAD}
out=$(realpath -m "${2:-autograder.zip}")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/setup.sh" "$here/run_autograder" "$stage/"
mkdir "$stage/lab"
git -C "$top" archive "$ref" | tar -x -C "$stage/lab"
rm -f "$out"
(cd "$stage" && python3 -m zipfile -c "$out" setup.sh run_autograder lab)
echo "wrote $out"
