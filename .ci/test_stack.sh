#!/usr/bin/env bash
# One stack set in a fresh virtual environment: install, check that
# installing the plugin with its dependencies changes nothing, pip check,
# the shims the stack gets, then a test suite.
#
#   .ci/test_stack.sh VENV PYTHON TORCH STACK SUITE [PYTEST_ARGS...]
#
# VENV    folder of the new venv (removed first; keep it outside the repo
#         or under work_dirs/)
# PYTHON  an interpreter path or command, or a version such as 3.12
#         (python3.12, else pyenv's newest 3.12.x)
# TORCH   torch | torch-min        (requirements/<TORCH>.txt)
# STACK   upstream | onedl         (requirements/<STACK>.txt)
# SUITE   full | core              (core: models, engine, datasets, runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 5 ]; then
    sed -n '2,14p' "$0"
    exit 2
fi
venv=$1 python=$2 torch=$3 stack=$4 suite=$5
shift 5

resolve_python() {
    local want=$1
    if [[ ! $want =~ ^3\.[0-9]+$ ]]; then
        echo "$want"
        return
    fi
    if command -v "python$want" >/dev/null \
            && "python$want" --version >/dev/null 2>&1; then
        command -v "python$want"
        return
    fi
    local root
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    local found
    found=$(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$found" ] && [ -x "$found/bin/python" ]; then
        echo "$found/bin/python"
        return
    fi
    echo "no Python $want found (python$want or pyenv)" >&2
    return 1
}

case $suite in
    full) paths=(tests) ;;
    core) paths=(tests/test_models tests/test_engine tests/test_datasets
                 tests/test_runtime) ;;
    *) echo "SUITE must be full or core, got '$suite'" >&2; exit 2 ;;
esac
for f in "requirements/$torch.txt" "requirements/$stack.txt"; do
    [ -f "$f" ] || { echo "no $f" >&2; exit 2; }
done

interpreter=$(resolve_python "$python")
start=$(date +%s)
echo "== stack $stack, $torch, $("$interpreter" --version), suite $suite"
rm -rf "$venv"
"$interpreter" -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q -r "requirements/$torch.txt" \
    -r "requirements/$stack.txt"
"$py" -m pip freeze --exclude-editable | sort > "$venv/freeze-before.txt"
# With its dependencies: the plugin must keep the stack's torch and
# OpenMMLab distributions (it names neither OpenMMLab set).
"$py" -m pip install -q --no-build-isolation -e .
"$py" -m pip freeze --exclude-editable | grep -v -i '^mpa[-_]fer' \
    | sort > "$venv/freeze-after.txt"
diff "$venv/freeze-before.txt" "$venv/freeze-after.txt"
"$py" -m pip check
echo "== installed in $(( $(date +%s) - start )) s"
HF_HUB_OFFLINE=1 "$py" -c "
from mpa_fer_plugin.utils import compat, stack_check
print('stack', stack_check.detect_stack(), 'applied', compat.APPLIED,
      'skipped', compat.SKIPPED)
assert stack_check.detect_stack() == '$stack'"
HF_HUB_OFFLINE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
    "$py" -m pytest -q -p no:cacheprovider "$@" "${paths[@]}"
echo "== $stack $torch $suite passed in $(( $(date +%s) - start )) s"
