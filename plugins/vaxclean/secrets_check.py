"""The deployment refuses to start with a placeholder, empty or weak secret: `python -m vaxclean.secrets_check
airflow` (first step of airflow-init; every Airflow service waits for it) and `... superset` (first step of
superset-init). One line names every variable at fault and why, never a value.

Why each matters: the JWT secret signs the API tokens (a known one lets anyone forge an admin's token); the
Fernet key encrypts the connections and variables stored in the metadata DB (empty: stored in clear); the
API secret key signs UI sessions; the pseudonym secret keys the BI layer's citizen pseudonyms; the database
and API passwords guard the data. `.env.example`'s values are placeholders (`change-me-...`):
`deploy/make-env.sh` writes a `.env` with random ones. Stdlib only: it runs in both images.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

MIN_KEY = 32  # random keys (make-env.sh writes 43 characters)
MIN_PASSWORD = 12
WELL_KNOWN = frozenset({"admin", "airflow", "password", "secret", "changeme", "postgres", "superset", "dev-token",
                        "temporary_key", "test"})


def _weak(value: str, minimum: int) -> str | None:
    if not value:
        return "empty"
    if value.lower().startswith("change-me") or value.lower() in WELL_KNOWN:
        return "a placeholder"
    if len(value) < minimum:
        return f"shorter than {minimum} characters"
    return None


def key(value: str) -> str | None:
    return _weak(value, MIN_KEY)


def password(value: str) -> str | None:
    return _weak(value, MIN_PASSWORD)


def fernet_key(value: str) -> str | None:
    """A Fernet key: 32 bytes, URL-safe base64."""
    if not value:
        return "empty (connections and variables would be stored in clear)"
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        return "not URL-safe base64"
    return None if len(raw) == 32 else "not a Fernet key (32 bytes, URL-safe base64)"


def url_password(value: str) -> str | None:
    """The password inside a database URL."""
    try:
        secret = urlsplit(value).password or ""
    except ValueError:
        return "not a URL"
    return password(secret)


def connection_password(value: str) -> str | None:
    """The password (the API token) of an Airflow connection given as JSON."""
    try:
        secret = str(json.loads(value).get("password") or "")
    except (ValueError, AttributeError):
        return "not a JSON connection"
    return password(secret)


def pseudonym_secret(value: str, env: Mapping[str, str]) -> str | None:
    """VAXCLEAN_PSEUDONYM_SECRET, or the file VAXCLEAN_PSEUDONYM_SECRET_FILE names."""
    if not value and env.get("VAXCLEAN_PSEUDONYM_SECRET_FILE"):
        try:
            value = Path(env["VAXCLEAN_PSEUDONYM_SECRET_FILE"]).read_text(encoding="utf-8").strip()
        except OSError:
            return "its file cannot be read"
    return key(value)


Check = Callable[[str], str | None]
CHECKS: dict[str, list[tuple[str, Check | None]]] = {
    "airflow": [
        ("AIRFLOW__CORE__FERNET_KEY", fernet_key),
        ("AIRFLOW__API_AUTH__JWT_SECRET", key),
        ("AIRFLOW__API__SECRET_KEY", key),
        ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", url_password),
        ("AIRFLOW_CONN_VACCINATION_PLATFORM", connection_password),
        ("AIRFLOW_CONN_FEEDBACK_PORTAL", connection_password),
        ("VAXCLEAN_PSEUDONYM_SECRET", None),  # pseudonym_secret (reads the environment)
    ],
    "superset": [
        ("SUPERSET_SECRET_KEY", key),
        ("SUPERSET_ADMIN_PASSWORD", password),
        ("SUPERSET_METADATA_URI", url_password),
    ],
}


def problems(component: str, env: Mapping[str, str]) -> list[str]:
    """`VARIABLE (why)` for every secret of the component that must not be used."""
    found = []
    for name, check in CHECKS[component]:
        value = env.get(name, "")
        why = pseudonym_secret(value, env) if check is None else check(value)
        if why:
            found.append(f"{name} ({why})")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in CHECKS:
        print(f"usage: python -m vaxclean.secrets_check {{{'|'.join(CHECKS)}}}", file=sys.stderr)
        return 64
    found = problems(args[0], os.environ)
    if found:
        print(f"refusing to start {args[0]}: {', '.join(found)}; set them in .env "
              "(deploy/make-env.sh writes one with random secrets)", file=sys.stderr)
        return 2
    print(f"secrets check: {args[0]}: every secret is set")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
