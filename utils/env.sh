# Sourced by demo.sh and tests/run.sh: make ./.venv (Python 3.10+) and install a requirements file
# into it, so that either command works first on a fresh clone. Usage: ensure_venv requirements.txt
ensure_venv() {
    local req=$1 py=${PYTHON:-python3}
    if [ ! -x .venv/bin/python ]; then
        if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "error: $py is missing or older than 3.10; set PYTHON=/path/to/python3.10+" >&2
            return 2
        fi
        echo "creating .venv with $("$py" --version 2>&1)"
        "$py" -m venv .venv
        .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
    # quiet and quick when everything is already installed
    python -m pip install -q --disable-pip-version-check -r "$req"
}
