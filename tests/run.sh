#!/usr/bin/env bash
# The test suite from a fresh clone: creates .venv and installs requirements-dev.txt if needed, then
# lint (ruff), format check, Dockerfile lint (hadolint) and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. utils/env.sh
ensure_venv requirements-dev.txt
ruff check .
ruff format --check .
hadolint Dockerfile
python -m pytest -q "$@"
