"""The Airflow UI's users of the deployment (docker-compose.yml: FAB auth manager), one per role, from the
environment, so that `.env` stays the truth: `python -m vaxclean.airflow_users` (airflow-init runs it after
the migration).

| role | user | password |
|---|---|---|
| Admin (everything) | AIRFLOW_UI_ADMIN_USER | AIRFLOW_UI_ADMIN_PASSWORD (required) |
| Op (runs DAGs, answers approvals, manages connections) | AIRFLOW_UI_OPERATOR_USER | AIRFLOW_UI_OPERATOR_PASSWORD |
| Viewer (reads runs, logs, gate reports) | AIRFLOW_UI_VIEWER_USER | AIRFLOW_UI_VIEWER_PASSWORD |

An empty user name skips the role. A user that exists gets the role and the password again; a placeholder
(`change-me-...`), empty or short password is refused with one clear line. Passwords come from the
environment, never from a command line (`ps` shows those).
"""

from __future__ import annotations

import os
import sys

ROLES = (("Admin", "AIRFLOW_UI_ADMIN"), ("Op", "AIRFLOW_UI_OPERATOR"), ("Viewer", "AIRFLOW_UI_VIEWER"))
MIN_PASSWORD = 12


class UnfitPassword(ValueError):
    """A password a deployment must not run with."""


def wanted_users(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(user, password, role) for every role whose user is set; raises UnfitPassword for a password that is
    empty, shorter than 12 characters or a `.env.example` placeholder."""
    users = []
    for role, prefix in ROLES:
        user = env.get(f"{prefix}_USER", "").strip()
        if not user:
            if role == "Admin":
                raise UnfitPassword("AIRFLOW_UI_ADMIN_USER is empty: the deployment needs an administrator")
            continue
        password = env.get(f"{prefix}_PASSWORD", "")
        if password.startswith("change-me") or len(password) < MIN_PASSWORD:
            raise UnfitPassword(f"{prefix}_PASSWORD is empty, a placeholder or shorter than {MIN_PASSWORD} "
                                "characters: set it in .env (deploy/make-env.sh fills random ones)")
        users.append((user, password, role))
    return users


def ensure_users(users: list[tuple[str, str, str]]) -> list[str]:
    """Create or update each user with its one role and password; returns what was done, per user."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    done = []
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        for user, password, role_name in users:
            role = sm.find_role(role_name)
            if role is None:
                raise SystemExit(f"role {role_name} does not exist: was `airflow db migrate` run?")
            existing = sm.find_user(username=user)
            if existing is None:
                sm.add_user(username=user, first_name=user, last_name=role_name, email=f"{user}@vaxclean.invalid",
                            role=role, password=password)
                done.append(f"{user}: created ({role_name})")
            else:
                existing.roles = [role]
                sm.update_user(existing)
                sm.reset_password(existing.id, password)
                done.append(f"{user}: updated ({role_name})")
    return done


def main() -> int:
    try:
        users = wanted_users(dict(os.environ))
    except UnfitPassword as error:
        print(f"airflow users: {error}", file=sys.stderr)
        return 2
    for line in ensure_users(users):
        print(f"airflow users: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
