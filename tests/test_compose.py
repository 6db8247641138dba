"""Static checks of the container deployment: compose.yaml, Dockerfile and
deploy/. No Docker, broker or database needed.

The services are discovered from the filesystem (every services/<name>/ with a
service.py), not listed here, so a new service without its compose entry,
command, database or init SQL fails these tests.

compose.yaml is read the way `docker compose config` would with no .env file:
YAML first, then ${VAR} interpolation of every string value with an empty
environment, so each variable's default is what is checked.
"""
import ast
import fnmatch
import glob
import os
import re
from urllib.parse import urlsplit

import pytest
import yaml

from einspection import bus
from tools import launch

ROOT = launch.ROOT
COMPOSE_FILE = os.path.join(ROOT, "compose.yaml")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
INITDB_DIR = "/docker-entrypoint-initdb.d"
HEALTHY = {"condition": "service_healthy"}
RESTART_POLICIES = ("always", "unless-stopped", "on-failure")
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}


def discover_services():
    base = os.path.join(ROOT, "services")
    return sorted(name for name in os.listdir(base)
                  if os.path.isfile(os.path.join(base, name, "service.py")))


SERVICE_NAMES = discover_services()


def test_services_are_discovered():
    # Guards the discovery itself: an empty list would make every check pass.
    assert {"hazard", "checklist", "scoring", "notify", "gateway"} <= set(SERVICE_NAMES)


# --- what the source says about each service -------------------------------------------

def _source_tree(name):
    with open(os.path.join(ROOT, "services", name, "service.py"), encoding="utf-8") as handle:
        return ast.parse(handle.read())


def database_keys(name):
    """The *_DATABASE_URL settings the service's EventStore(...) reads."""
    keys = []
    for node in ast.walk(_source_tree(name)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "EventStore":
            args = list(node.args[:1]) + [k.value for k in node.keywords if k.arg == "url_key"]
            keys += [a.value for a in args if isinstance(a, ast.Constant)]
    return keys


def class_names(name):
    return {node.name for node in _source_tree(name).body if isinstance(node, ast.ClassDef)}


def serves_metrics(name):
    """Whether the service class has a MetricsServer() dependency."""
    return any(isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MetricsServer"
               for node in ast.walk(_source_tree(name)))


def gateway_backends():
    """The services the gateway's /health requires (its SERVICES tuple)."""
    for node in _source_tree("gateway").body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SERVICES"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("services/gateway/service.py has no SERVICES tuple")


# --- compose variable interpolation (the subset of compose-go's rules we use) --------------

class InterpolationError(ValueError):
    pass


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?\Z", re.S)


def interpolate(text, env, unset=None):
    """Resolve $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err},
    ${VAR?err}, ${VAR:+alt}, ${VAR+alt} (nesting allowed) like compose does;
    a malformed template raises. Names used without a default go in `unset`."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_substitute(text[i + 2:end], env, unset))
            i = end + 1
        else:
            match = _NAME.match(text, i + 1)
            if not match:
                raise InterpolationError("lone $ in %r (write $$ for a literal $)" % text)
            out.append(_lookup(match.group(), env, unset))
            i = match.end()
    return "".join(out)


def _closing_brace(text, start):
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError("unbalanced ${ in %r" % text)


def _lookup(name, env, unset):
    if name not in env and unset is not None:
        unset.append(name)
    return env.get(name, "")


def _substitute(expression, env, unset):
    match = _BRACED.match(expression)
    if not match:
        raise InterpolationError("invalid ${%s}" % expression)
    name, operator, argument = match.groups()
    if operator is None:
        return _lookup(name, env, unset)
    argument = interpolate(argument, env, unset)   # always, so its syntax is checked too
    value = env.get(name)
    if operator in (":?", "?"):
        if (value is None) if operator == "?" else not value:
            raise InterpolationError("required variable %s is not set: %s" % (name, argument))
        return value
    if operator == ":-":
        return value if value else argument
    if operator == "-":
        return value if value is not None else argument
    if operator == ":+":
        return argument if value else ""
    return argument if value is not None else ""      # "+"


@pytest.mark.parametrize("template, expected", [
    ("plain", "plain"),
    ("${A}", "a"),
    ("$A-x", "a-x"),
    ("${UNSET:-d}", "d"),
    ("${EMPTY:-d}|${EMPTY-d}", "d|"),
    ("${A:+alt}|${UNSET:+alt}", "alt|"),
    ("${UNSET:-${A}}", "a"),
    ("$${NOT_A_VAR} costs $$5", "${NOT_A_VAR} costs $5"),
    ("${UNSET:-x:y:8000}", "x:y:8000"),
])
def test_interpolation_helper(template, expected):
    assert interpolate(template, {"A": "a", "EMPTY": ""}) == expected


@pytest.mark.parametrize("template", [
    "${A", "x ${A:-${B} y", "${}", "${A B}", "${1A}", "cost $5", "end $", "${UNSET:?needed}",
])
def test_interpolation_helper_rejects(template):
    with pytest.raises(InterpolationError):
        interpolate(template, {"A": "a"})


def _strings(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, "%s.%s" % (path, key) if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, "%s[%d]" % (path, index))
    elif isinstance(node, str):
        yield path, node


def _resolve(node, env=None):
    if isinstance(node, dict):
        return {key: _resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env or {})
    return node


# --- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def raw_compose():
    assert os.path.isfile(COMPOSE_FILE), "compose.yaml is missing at the repository root"
    with open(COMPOSE_FILE, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    assert isinstance(document, dict) and isinstance(document.get("services"), dict)
    return document


@pytest.fixture(scope="module")
def compose(raw_compose):
    return _resolve(raw_compose)


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):       # the KEY=value list form
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def healthcheck_test(service):
    test = (service.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else (test or "")


def command_argv(service):
    command = service.get("command")
    return command.split() if isinstance(command, str) else list(command or [])


# --- the file as a whole -----------------------------------------------------------------

def test_variables_are_well_formed_and_defaulted(raw_compose):
    problems = []
    for path, value in _strings(raw_compose):
        unset = []
        try:
            interpolate(value, {}, unset)
        except InterpolationError as exc:
            problems.append("%s: %s" % (path, exc))
        problems += ["%s: ${%s} has no default" % (path, name) for name in unset]
    assert not problems, "\n".join(problems)


def test_no_unbalanced_interpolation_in_the_raw_text():
    # Line by line, comments included: no template here spans lines, so a ${
    # must close on its own line (a stray one in a comment misleads readers).
    with open(COMPOSE_FILE, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    problems = []
    for number, line in enumerate(lines, 1):
        line = line.replace("$$", "")
        for match in re.finditer(r"\$\{", line):
            try:
                _closing_brace(line, match.end())
            except InterpolationError:
                problems.append("compose.yaml:%d: unbalanced ${: %s" % (number, line.strip()))
    assert not problems, "\n".join(problems)


def test_top_level_keys(raw_compose):
    unknown = {k for k in raw_compose if k not in TOP_LEVEL_KEYS and not k.startswith("x-")}
    assert not unknown, "unknown top-level keys: %s" % sorted(unknown)


def test_dependencies_exist(services):
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        for target in depends_on:
            assert target in services, "%s depends on undefined service %s" % (name, target)


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, "%s uses undeclared volume %s" % (name, source)


# --- infrastructure ----------------------------------------------------------------------

def test_rabbitmq(services):
    rabbitmq = services.get("rabbitmq")
    assert rabbitmq, "no rabbitmq service"
    assert rabbitmq.get("image", "").startswith("rabbitmq:3.")
    assert "rabbitmq-diagnostics" in healthcheck_test(rabbitmq)
    assert "ping" in healthcheck_test(rabbitmq)


def test_postgres(services):
    postgres = services.get("postgres")
    assert postgres, "no postgres service"
    assert postgres.get("image", "").startswith("postgres:16")
    assert "pg_isready" in healthcheck_test(postgres)
    assert environment(postgres).get("POSTGRES_PASSWORD"), "postgres needs a password"


def init_sql_files(services):
    """The .sql files of the repository directory mounted on the init directory."""
    mounts = []
    for volume in services["postgres"].get("volumes") or []:
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
        else:
            source, target = (volume.split(":") + [""])[:2]
        if target.rstrip("/") == INITDB_DIR:
            mounts.append(source)
    assert mounts, "postgres mounts nothing on %s" % INITDB_DIR
    source = os.path.normpath(os.path.join(ROOT, mounts[0]))
    assert source.startswith(os.path.join(ROOT, "deploy") + os.sep), \
        "the init scripts should live under deploy/, not %s" % mounts[0]
    files = sorted(glob.glob(os.path.join(source, "*.sql")))
    assert files, "no .sql file in %s" % source
    return files


def created_databases(services):
    names = set()
    for path in init_sql_files(services):
        with open(path, encoding="utf-8") as handle:
            sql = re.sub(r"--[^\n]*", "", handle.read())
        names |= {m.group(1) or m.group(2) for m in re.finditer(
            r'CREATE\s+DATABASE\s+(?:"([^"]+)"|(\w+))', sql, re.I)}
    return names


# --- the service containers --------------------------------------------------------------

def test_every_service_is_launchable():
    # tools/launch.py is what the compose commands are checked against.
    assert sorted(launch.SERVICES) == SERVICE_NAMES, \
        "services/ and tools/launch.py SERVICES disagree"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_container(services, name):
    assert name in services, "services/%s/service.py has no compose service %r" % (name, name)
    service = services[name]
    assert service.get("build") or service.get("image"), "%s: no build or image" % name
    restart = str(service.get("restart")).split(":")[0]
    assert restart in RESTART_POLICIES, "%s: no restart policy" % name


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_command(services, name):
    argv = command_argv(services.get(name, {}))
    assert name in launch.SERVICES, "tools/launch.py SERVICES has no %r" % name
    expected = launch.SERVICES[name]
    assert argv[-1:] == [expected], "%s: command %r does not run %s" % (name, argv, expected)
    assert argv[:4] in (["python", "-m", "nameko", "run"], ["python3", "-m", "nameko", "run"])
    assert argv[argv.index("--config") + 1] == "config.yaml"
    module, cls = expected.split(":")
    assert module == "services.%s.service" % name
    assert cls in class_names(name), "%s is not defined in services/%s/service.py" % (cls, name)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_environment(services, name):
    env = environment(services.get(name, {}))
    uri = urlsplit(env.get("AMQP_URI") or "")
    assert uri.scheme == "amqp" and uri.hostname == "rabbitmq", \
        "%s: AMQP_URI %r is not the rabbitmq service" % (name, env.get("AMQP_URI"))
    broker = environment(services["rabbitmq"])
    assert (uri.username, uri.password) == (broker.get("RABBITMQ_DEFAULT_USER", "guest"),
                                            broker.get("RABBITMQ_DEFAULT_PASS", "guest"))
    for key in ("EVENTS_EXCHANGE", "QUEUE_PREFIX"):
        assert env.get(key), "%s: %s is not set" % (name, key)


def test_the_services_that_serve_metrics_are_discovered():
    assert {"hazard", "checklist", "scoring", "notify"} <= {
        name for name in SERVICE_NAMES if serves_metrics(name)}


@pytest.mark.parametrize("name", [name for name in SERVICE_NAMES if serves_metrics(name)])
def test_service_metrics_are_served_for_a_scraper_in_another_container(services, name):
    # The code binds loopback unless METRICS_ADDRESS says otherwise: a
    # Prometheus on the compose network reaches only what is set here.
    env = environment(services.get(name, {}))
    assert int(env.get("METRICS_PORT") or 0) > 0, "%s: METRICS_PORT is not set" % name
    assert env.get("METRICS_ADDRESS") == "0.0.0.0", \
        "%s: METRICS_ADDRESS must be set (the default, loopback, is unreachable from " \
        "another container)" % name
    ports = [str(port) for port in services[name].get("ports") or []]
    assert not any(env["METRICS_PORT"] in port for port in ports), \
        "%s: the metrics port must not be published on the host" % name


PROMETHEUS_DIR = os.path.join(ROOT, "deploy", "prometheus")


def prometheus_jobs():
    with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    return config, {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_runs_with_the_repository_config(services):
    prometheus = services.get("prometheus")
    assert prometheus, "no prometheus service"
    assert prometheus.get("image", "").startswith("prom/prometheus:")
    mounts = [str(volume) for volume in prometheus.get("volumes") or []]
    assert any(mount.startswith("./deploy/prometheus:/etc/prometheus") for mount in mounts)
    assert "--config.file=/etc/prometheus/prometheus.yml" in command_argv(prometheus)
    config, _jobs = prometheus_jobs()
    for rule_file in config["rule_files"]:
        assert os.path.isfile(os.path.join(PROMETHEUS_DIR, rule_file)), rule_file
    for port in prometheus.get("ports") or []:
        assert str(port).startswith("127.0.0.1:"), "Prometheus answers on loopback only"


@pytest.mark.parametrize("name", [name for name in SERVICE_NAMES if serves_metrics(name)])
def test_prometheus_scrapes_every_replica_of_each_service(services, name):
    # replicas share their compose name: DNS discovery finds each one (a
    # static target would resolve to one of them)
    _config, jobs = prometheus_jobs()
    assert name in jobs, "prometheus.yml does not scrape %s" % name
    job = jobs[name]
    assert "static_configs" not in job, "%s: a static target scrapes one replica only" % name
    [discovery] = job["dns_sd_configs"]
    assert discovery["names"] == [name] and discovery.get("type") == "A"
    assert discovery["port"] == int(environment(services[name])["METRICS_PORT"])


def test_prometheus_scrapes_every_gateway_at_its_http_port(services):
    _config, jobs = prometheus_jobs()
    [discovery] = jobs["gateway"]["dns_sd_configs"]
    assert discovery["names"] == ["gateway"] and discovery.get("type") == "A"
    address = environment(services["gateway"])["GATEWAY_ADDRESS"]
    assert discovery["port"] == int(address.rsplit(":", 1)[1])
    assert jobs["gateway"].get("metrics_path", "/metrics") == "/metrics"


def test_grafana_is_provisioned_with_the_dashboard(services):
    grafana = services.get("grafana")
    assert grafana and grafana.get("image", "").startswith("grafana/grafana")
    mounts = [str(volume) for volume in grafana.get("volumes") or []]
    for mount in mounts:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert os.path.exists(os.path.join(ROOT, source)), mount
    assert any(mount.startswith("./deploy/grafana/einspection.json:") for mount in mounts)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_database(services, name):
    keys = database_keys(name)
    env = environment(services.get(name, {}))
    if name != "gateway":
        assert keys, "services/%s/service.py has no EventStore" % name
    postgres = environment(services["postgres"])
    for key in keys:
        assert launch.DATABASE_KEYS.get(name) == key, "tools/launch.py DATABASE_KEYS disagrees"
        url = urlsplit(env.get(key) or "")
        assert url.scheme in ("postgresql", "postgres") and url.hostname == "postgres", \
            "%s: %s=%r is not the postgres service" % (name, key, env.get(key))
        assert url.port in (None, 5432)
        assert url.username == postgres.get("POSTGRES_USER", "postgres")
        assert url.password == postgres.get("POSTGRES_PASSWORD")
        assert url.path.strip("/"), "%s: %s names no database" % (name, key)


def database_urls(services):
    urls = {}
    for name in SERVICE_NAMES:
        env = environment(services.get(name, {}))
        for key in database_keys(name):
            urls[(name, key)] = env.get(key) or ""
    return urls


def test_each_service_owns_its_database(services):
    owners = {}
    for (name, _key), url in database_urls(services).items():
        database = urlsplit(url).path.strip("/")
        assert database not in owners, "%s and %s share database %s" % (
            owners.get(database), name, database)
        owners[database] = name


def test_init_sql_creates_every_database(services):
    wanted = {urlsplit(url).path.strip("/") for url in database_urls(services).values()}
    missing = wanted - created_databases(services)
    assert not missing, "deploy/ init SQL does not create: %s" % sorted(missing)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_healthcheck(services, name):
    healthcheck = services.get(name, {}).get("healthcheck") or {}
    test = healthcheck.get("test")
    assert test and not healthcheck.get("disable"), "%s: no healthcheck" % name
    assert test not in (["NONE"], "NONE")
    if isinstance(test, list):
        assert test[0] in ("CMD", "CMD-SHELL")
    text = healthcheck_test(services[name])
    for script in re.findall(r"(deploy/\S+\.py)", text):
        assert os.path.isfile(os.path.join(ROOT, script)), "%s: %s does not exist" % (name, script)
    if name == "gateway":
        assert "/health" in text
    else:
        assert re.search(r"\b%s\b" % re.escape(name), text), \
            "%s: the healthcheck does not check %s itself: %s" % (name, name, text)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_waits_for_infrastructure(services, name):
    depends_on = services.get(name, {}).get("depends_on")
    assert isinstance(depends_on, dict), "%s: depends_on needs the long form with conditions" % name
    for infrastructure in ("rabbitmq", "postgres"):
        assert depends_on.get(infrastructure, {}).get("condition") == "service_healthy", \
            "%s does not wait for %s to be healthy" % (name, infrastructure)


def test_gateway_publishes_8000(raw_compose, services):
    gateway = services["gateway"]
    published = []
    for port in gateway.get("ports") or []:
        if isinstance(port, dict):
            published.append((str(port.get("published")), str(port.get("target"))))
        else:
            parts = str(port).split("/")[0].rsplit(":", 2)
            published.append((parts[-2] if len(parts) > 1 else "", parts[-1]))
    assert ("8000", "8000") in published, "gateway ports: %r" % gateway.get("ports")
    assert any("${GATEWAY_PORT" in str(p) for p in raw_compose["services"]["gateway"]["ports"])
    host, _, port = environment(gateway).get("GATEWAY_ADDRESS", "").rpartition(":")
    assert (host, port) == ("0.0.0.0", "8000"), "the gateway must listen on 0.0.0.0:8000"


def test_gateway_waits_for_the_services_it_checks(services):
    depends_on = services["gateway"].get("depends_on") or {}
    for backend in gateway_backends():
        assert depends_on.get(backend) == HEALTHY, "gateway does not wait for %s" % backend


# --- the image ---------------------------------------------------------------------------

def dockerfile_instructions():
    assert os.path.isfile(DOCKERFILE), "Dockerfile is missing at the repository root"
    with open(DOCKERFILE, encoding="utf-8") as handle:
        text = re.sub(r"\\\n", " ", handle.read())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            instructions.append((op.upper(), args.strip()))
    return instructions


def test_dockerfile():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.11-slim")
    runs = [args for op, args in instructions if op == "RUN"]
    assert any(re.search(r"pip install .*--no-cache-dir.* -r requirements\.txt", r) for r in runs)
    copies = " ".join(args for op, args in instructions if op == "COPY")
    assert "requirements.txt" in copies
    users = [args.split(":")[0] for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    workdir = [args for op, args in instructions if op == "WORKDIR"][-1]
    assert any(re.match(r"\.\s+(\.|%s/?)$" % re.escape(workdir), args)
               for op, args in instructions if op == "COPY"), \
        "the repository must be copied to WORKDIR (commands run from the repo root)"


def test_dockerignore_keeps_what_the_services_need(services):
    if not os.path.isfile(DOCKERIGNORE):
        return
    with open(DOCKERIGNORE, encoding="utf-8") as handle:
        patterns = [line.strip() for line in handle
                    if line.strip() and not line.startswith(("#", "!"))]
    needed = ["config.yaml", "requirements.txt", "einspection/bus.py", "tools/launch.py"]
    needed += ["services/%s/service.py" % name for name in SERVICE_NAMES]
    for name in SERVICE_NAMES:
        needed += re.findall(r"(deploy/\S+\.py)", healthcheck_test(services.get(name, {})))
    for path in needed:
        prefixes = ["/".join(path.split("/")[:n]) for n in range(1, path.count("/") + 2)]
        hits = [p for p in patterns for prefix in prefixes
                if fnmatch.fnmatch(prefix, p.lstrip("/").replace("**/", "*"))]
        assert not hits, ".dockerignore %r leaves %s out of the image" % (hits, path)


# --- replicas ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_replicas_are_set_by_the_environment(raw_compose, services, name):
    raw = (raw_compose["services"][name].get("deploy") or {}).get("replicas")
    variable = "%s_REPLICAS" % name.upper()
    assert isinstance(raw, str) and variable in raw, \
        "%s: deploy.replicas must come from ${%s:-1}, not %r" % (name, variable, raw)
    assert int(services[name]["deploy"]["replicas"]) == 1          # one without .env
    assert interpolate(raw, {variable: "3"}) == "3"
    # a fixed container name allows one container only
    assert "container_name" not in services[name]


def test_gateway_replicas_can_publish_a_port_range(raw_compose):
    # GATEWAY_REPLICAS=2 GATEWAY_PORT=8000-8001: each replica takes one host port
    ports = [interpolate(str(port), {"GATEWAY_PORT": "8000-8001"})
             for port in raw_compose["services"]["gateway"]["ports"]]
    assert "8000-8001:8000" in ports


# --- the RabbitMQ cluster: profile `cluster` (docs/operations.md, A RabbitMQ cluster) -----

CLUSTER_PROFILE = "cluster"
CLUSTER_SWITCH = {"RABBITMQ_CLUSTER": "1"}      # the services' AMQP_URI lists every node


def active(services, profile=None):
    """The services `docker compose [--profile <profile>] up` starts."""
    return {name: service for name, service in services.items()
            if not service.get("profiles") or profile in service["profiles"]}


def rabbitmq_nodes(services):
    return {name: service for name, service in services.items()
            if str(service.get("image", "")).startswith("rabbitmq:")}


def data_volume(service):
    [source] = [str(volume).split(":")[0] for volume in service.get("volumes") or []
                if str(volume).split(":")[1:2] == ["/var/lib/rabbitmq"]]
    return source


def cluster_conf(service):
    """key = value pairs of the repository files a node mounts under /etc/rabbitmq."""
    settings = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        if source.startswith("./") and target.startswith("/etc/rabbitmq/"):
            with open(os.path.join(ROOT, source), encoding="utf-8") as handle:
                for line in handle:
                    key, _, value = line.split("#")[0].partition("=")
                    if key.strip():
                        settings[key.strip()] = value.strip()
    return settings


def test_without_the_profile_one_rabbitmq_node(services):
    nodes = rabbitmq_nodes(active(services))
    assert list(nodes) == ["rabbitmq"]
    assert "profiles" not in services["rabbitmq"]
    for name in SERVICE_NAMES:
        assert environment(services[name])["AMQP_URI"] == \
            "amqp://einspection:einspection@rabbitmq:5672/", name


def test_the_cluster_profile_has_three_nodes_of_one_image_and_one_cookie(services):
    nodes = rabbitmq_nodes(active(services, CLUSTER_PROFILE))
    assert sorted(nodes) == ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    assert all(nodes[name]["profiles"] == [CLUSTER_PROFILE] for name in ("rabbitmq-2", "rabbitmq-3"))
    assert len({service["image"] for service in nodes.values()}) == 1
    cookies = {environment(service).get("RABBITMQ_ERLANG_COOKIE") for service in nodes.values()}
    assert len(cookies) == 1 and None not in cookies and "" not in cookies
    users = {(environment(service)["RABBITMQ_DEFAULT_USER"],
              environment(service)["RABBITMQ_DEFAULT_PASS"]) for service in nodes.values()}
    assert len(users) == 1
    for name, service in nodes.items():
        # the hostname is the node's name (rabbit@<hostname>): fixed, the service's own
        assert service.get("hostname") == name
        assert str(service.get("restart")).split(":")[0] in RESTART_POLICIES
        assert "rabbitmq-diagnostics" in healthcheck_test(service), name


def test_each_node_has_its_own_data_volume(compose, services):
    nodes = rabbitmq_nodes(active(services, CLUSTER_PROFILE))
    volumes = [data_volume(service) for service in nodes.values()]
    assert len(set(volumes)) == 3 and set(volumes) <= set(compose["volumes"])


def test_the_joining_nodes_discover_the_three_by_name(services):
    nodes = rabbitmq_nodes(active(services, CLUSTER_PROFILE))
    names = {"rabbit@" + service["hostname"] for service in nodes.values()}
    for name in ("rabbitmq-2", "rabbitmq-3"):
        conf = cluster_conf(nodes[name])
        assert conf.get("cluster_formation.peer_discovery_backend") in (
            "classic_config", "rabbit_peer_discovery_classic_config"), name
        listed = {value for key, value in conf.items()
                  if re.fullmatch(r"cluster_formation\.classic_config\.nodes\.\d+", key)}
        assert listed == names, name
    # the first node forms the cluster the others join; they keep looking for
    # it past its ping (what its healthcheck asks), which comes before its boot is done
    for name in ("rabbitmq-2", "rabbitmq-3"):
        assert nodes[name]["depends_on"] == {"rabbitmq": HEALTHY}, name
        conf = cluster_conf(nodes[name])
        assert int(conf["cluster_formation.discovery_retry_limit"]) * \
            int(conf["cluster_formation.discovery_retry_interval"]) >= 30000, name


def test_under_the_profile_the_services_know_every_node(raw_compose):
    cluster = _resolve(raw_compose, CLUSTER_SWITCH)["services"]
    nodes = rabbitmq_nodes(active(cluster, CLUSTER_PROFILE))
    broker = environment(cluster["rabbitmq"])
    for name in SERVICE_NAMES:
        urls = bus.broker_urls(environment(cluster[name])["AMQP_URI"])
        assert [urlsplit(url).hostname for url in urls] == sorted(nodes), name
        for url in urls:
            parts = urlsplit(url)
            assert (parts.scheme, parts.port, parts.path) == ("amqp", 5672, "/")
            assert (parts.username, parts.password) == (broker["RABBITMQ_DEFAULT_USER"],
                                                        broker["RABBITMQ_DEFAULT_PASS"])
        # kombu (nameko's and our own connections) takes the others as failover alternates
        assert bus.connect(environment(cluster[name])["AMQP_URI"]).alt == urls


def test_the_services_wait_for_every_node_of_the_profile(services):
    # a queue declared before a node joined has no replica there; without the
    # profile the two are absent, which `required: false` allows
    for name in SERVICE_NAMES:
        depends_on = services[name]["depends_on"]
        for node in ("rabbitmq-2", "rabbitmq-3"):
            assert depends_on.get(node) == dict(HEALTHY, required=False), (name, node)
        assert depends_on["rabbitmq"] == HEALTHY
