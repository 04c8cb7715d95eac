#!/usr/bin/env bash
# Writes .env for docker-compose.yml from .env.example, with a fresh random value for every
# `change-me-...` placeholder (the same secret wherever the same placeholder appears) and for the
# empty AIRFLOW_FERNET_KEY. Refuses to overwrite an existing file.
#   deploy/make-env.sh [TARGET]      (default: .env beside docker-compose.yml)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-${repo_root}/.env}"

if [[ -e "${target}" ]]; then
    echo "make-env: ${target} exists; remove it first to regenerate" >&2
    exit 1
fi

python3 - "${repo_root}/.env.example" "${target}" <<'PY'
import base64
import os
import secrets
import sys
from pathlib import Path

example, target = Path(sys.argv[1]), Path(sys.argv[2])
secrets_by_placeholder: dict[str, str] = {}
lines = []
for line in example.read_text(encoding="utf-8").splitlines():
    name, sep, value = line.partition("=")
    if sep and not line.lstrip().startswith("#"):
        if value.startswith("change-me-"):
            value = secrets_by_placeholder.setdefault(value, secrets.token_urlsafe(32))
        elif name == "AIRFLOW_FERNET_KEY" and not value:
            value = base64.urlsafe_b64encode(os.urandom(32)).decode()
        line = f"{name}={value}"
    lines.append(line)
target.write_text("\n".join(lines) + "\n", encoding="utf-8")
target.chmod(0o600)
PY
echo "make-env: wrote ${target}"
