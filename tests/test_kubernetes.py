"""Static checks of deploy/kubernetes/: no cluster needed.

Every manifest validates against the Kubernetes API schemas (kubernetes-validate,
pinned in requirements.txt: it bundles the schemas, so this runs offline, in
strict mode: an unknown field fails); the KEDA objects, which those schemas do
not have, against a JSON schema of ScaledObject and TriggerAuthentication
written here from KEDA's documented fields (https://keda.sh/docs/2.16/reference/
scaledobject-spec/, .../scalers/rabbitmq-queue/, .../concepts/authentication/).

The manifests are kept in step with compose.yaml: the same services, the same
command each, the same environment variable names (the values may differ), the
ConfigMap's values compose's defaults unless listed in DIFFERS; and with the
code: every service that consumes events (an @subscribe) has a ScaledObject on
the queue it really declares, <QUEUE_PREFIX>.<consumer name>.
"""
import glob
import importlib
import os
import shutil
import subprocess

import jsonschema
import kubernetes_validate
import pytest
import yaml

from einspection.nameko_glue import subscriptions_of
from tools import launch

from .test_compose import COMPOSE_FILE, SERVICE_NAMES, _resolve

ROOT = launch.ROOT
KUBERNETES_DIR = os.path.join(ROOT, "deploy", "kubernetes")
KUBERNETES_VERSION = "1.30.0"       # the oldest we promise (the files use nothing newer)
SECRET = "einspection-credentials"
SETTINGS = "einspection-settings"
# credentials: in the Secret, never in the ConfigMap or a literal value
CREDENTIALS = {"AMQP_URI", "EVENTS_AMQP_URI", "AUTH_SECRET"} | {
    "%s_DATABASE_URL" % name.upper() for name in launch.DATABASE_KEYS}
# ConfigMap values that differ from compose.yaml's defaults on purpose
DIFFERS = {"PUBLIC_BASE_URL": "the Ingress's public address, not localhost"}
# compose's stop_grace_period: what nameko is given to finish its workers
NAMEKO_STOP_SECONDS = 30


# --- the files ---------------------------------------------------------------------------

def _documents():
    documents = []
    for path in sorted(glob.glob(os.path.join(KUBERNETES_DIR, "*.yaml"))):
        if os.path.basename(path) == "kustomization.yaml":
            continue
        with open(path, encoding="utf-8") as handle:
            for document in yaml.safe_load_all(handle):
                if document is not None:
                    documents.append((os.path.basename(path), document))
    return documents


DOCUMENTS = _documents()


def _label(document):
    return "%s %s/%s" % (document[0], document[1].get("kind"),
                         (document[1].get("metadata") or {}).get("name"))


def objects(kind):
    return {document["metadata"]["name"]: document for _, document in DOCUMENTS
            if document.get("kind") == kind}


def one(kind):
    found = list(objects(kind).values())
    assert len(found) == 1, "one %s expected, found %d" % (kind, len(found))
    return found[0]


@pytest.fixture(scope="module")
def compose_services():
    with open(COMPOSE_FILE, encoding="utf-8") as handle:
        return _resolve(yaml.safe_load(handle))["services"]


def container(name):
    containers = objects("Deployment")[name]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "%s: one container per pod" % name
    return containers[0]


def test_the_manifests_are_found():
    # Guards the discovery itself: nothing found would make every check pass.
    assert {"Deployment", "ConfigMap", "Secret", "Service", "Ingress", "ScaledObject",
            "TriggerAuthentication"} <= {document.get("kind") for _, document in DOCUMENTS}


def test_the_kustomization_ties_every_file():
    with open(os.path.join(KUBERNETES_DIR, "kustomization.yaml"), encoding="utf-8") as handle:
        kustomization = yaml.safe_load(handle)
    files = {os.path.basename(path) for path in glob.glob(os.path.join(KUBERNETES_DIR, "*.yaml"))}
    assert sorted(kustomization["resources"]) == sorted(files - {"kustomization.yaml"})
    assert kustomization["namespace"] == objects("Namespace").popitem()[0]
    images = {image["name"] for image in kustomization.get("images", [])}
    assert images == {container(name)["image"] for name in objects("Deployment")}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (for kustomize) not here")
def test_kustomize_builds_it():
    built = subprocess.run(["kubectl", "kustomize", KUBERNETES_DIR], capture_output=True,
                           text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    rendered = [document for document in yaml.safe_load_all(built.stdout) if document]
    assert len(rendered) == len(DOCUMENTS)
    assert all(document["metadata"].get("namespace") == "einspection"
               for document in rendered if document["kind"] != "Namespace")


# --- the schemas -------------------------------------------------------------------------

KEDA_GROUP = "keda.sh/v1alpha1"
_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
_METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": _NAME, "namespace": _NAME,
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}},
    "additionalProperties": False}
# rabbitmq scaler's documented metadata (every value a string)
RABBITMQ_METADATA = {"host", "hostFromEnv", "protocol", "mode", "value", "activationValue",
                     "queueName", "vhostName", "useRegex", "excludeUnacknowledged",
                     "pageSize", "operation", "timeout", "unsafeSsl"}
SCALED_OBJECT_SCHEMA = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": KEDA_GROUP}, "kind": {"const": "ScaledObject"},
        "metadata": _METADATA,
        "spec": {
            "type": "object", "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object", "required": ["name"], "additionalProperties": False,
                    "properties": {"name": _NAME, "apiVersion": {"type": "string"},
                                   "kind": {"type": "string"},
                                   "envSourceContainerName": {"type": "string"}}},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {"type": "object", "required": ["failureThreshold", "replicas"],
                             "properties": {"failureThreshold": {"type": "integer"},
                                            "replicas": {"type": "integer"}}},
                "advanced": {"type": "object"},
                "triggers": {
                    "type": "array", "minItems": 1,
                    "items": {
                        "type": "object", "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"}, "name": {"type": "string"},
                            "metadata": {"type": "object",
                                         "additionalProperties": {"type": "string"}},
                            "authenticationRef": {
                                "type": "object", "required": ["name"],
                                "additionalProperties": False,
                                "properties": {"name": _NAME, "kind": {
                                    "enum": ["TriggerAuthentication",
                                             "ClusterTriggerAuthentication"]}}},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"}},
                        "if": {"properties": {"type": {"const": "rabbitmq"}}},
                        "then": {"properties": {"metadata": {
                            "required": ["queueName", "mode", "value"],
                            "propertyNames": {"enum": sorted(RABBITMQ_METADATA)},
                            "properties": {
                                "mode": {"enum": ["QueueLength", "MessageRate"]},
                                "protocol": {"enum": ["auto", "http", "amqp"]},
                                "value": {"pattern": r"^[0-9]+(\.[0-9]+)?$"}}}}}}}}}}}
TRIGGER_AUTHENTICATION_SCHEMA = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": KEDA_GROUP}, "kind": {"const": "TriggerAuthentication"},
        "metadata": _METADATA,
        "spec": {
            "type": "object", "minProperties": 1,
            "properties": {
                "secretTargetRef": {
                    "type": "array", "minItems": 1,
                    "items": {"type": "object", "required": ["parameter", "name", "key"],
                              "additionalProperties": False,
                              "properties": {"parameter": {"type": "string"}, "name": _NAME,
                                             "key": {"type": "string"}}}},
                "env": {"type": "array"}, "podIdentity": {"type": "object"},
                "hashiCorpVault": {"type": "object"}, "azureKeyVault": {"type": "object"},
                "configMapTargetRef": {"type": "array"}}}}}
KEDA_SCHEMAS = {"ScaledObject": SCALED_OBJECT_SCHEMA,
                "TriggerAuthentication": TRIGGER_AUTHENTICATION_SCHEMA}


@pytest.mark.parametrize("document", DOCUMENTS, ids=_label)
def test_every_manifest_is_valid(document):
    _file, manifest = document
    if manifest.get("apiVersion") == KEDA_GROUP:
        jsonschema.validate(manifest, KEDA_SCHEMAS[manifest["kind"]])
    else:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_validators_do_refuse():
    # A typo in a field must fail, in both validators.
    deployment = objects("Deployment")["scoring"]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    scaled = yaml.safe_load(yaml.safe_dump(objects("ScaledObject")["scoring"]))
    scaled["spec"]["triggers"][0]["metadata"]["queue"] = "einspection.scoring"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, SCALED_OBJECT_SCHEMA)
    del scaled["spec"]["scaleTargetRef"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, SCALED_OBJECT_SCHEMA)


# --- in step with compose.yaml -----------------------------------------------------------

def test_the_same_services_as_compose(compose_services):
    assert sorted(objects("Deployment")) == SERVICE_NAMES
    assert set(SERVICE_NAMES) <= set(compose_services)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_same_command_as_compose(compose_services, name):
    assert container(name)["command"] == compose_services[name]["command"]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_the_same_environment_names_as_compose(compose_services, name):
    names = [variable["name"] for variable in container(name)["env"]]
    assert len(names) == len(set(names)), "%s: a variable set twice" % name
    assert sorted(names) == sorted(compose_services[name]["environment"])


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_settings_come_from_the_configmap_and_credentials_from_the_secret(name):
    settings, credentials = one("ConfigMap"), one("Secret")
    assert settings["metadata"]["name"] == SETTINGS and credentials["metadata"]["name"] == SECRET
    for variable in container(name)["env"]:
        key = variable["name"]
        source = variable.get("valueFrom") or {}
        if key in CREDENTIALS:
            assert source.get("secretKeyRef") == {"name": SECRET, "key": key}, key
            assert key in credentials["stringData"]
        elif "configMapKeyRef" in source:
            assert source["configMapKeyRef"] == {"name": SETTINGS, "key": key}, key
            assert key in settings["data"]
        else:
            assert set(variable) == {"name", "value"}, \
                "%s: %s neither a setting, a credential nor a value" % (name, key)


def test_the_configmap_holds_composes_defaults(compose_services):
    defaults = {}
    for name in SERVICE_NAMES:
        defaults.update(compose_services[name]["environment"])
    data = one("ConfigMap")["data"]
    assert not set(data) & CREDENTIALS
    for key, value in data.items():
        assert key in defaults, "%s is in the ConfigMap but no service of compose.yaml has it" % key
        if key not in DIFFERS:
            assert value == defaults[key], "%s: %r here, %r in compose.yaml" % (
                key, value, defaults[key])


def test_the_secret_holds_placeholders_only():
    for key, value in one("Secret")["stringData"].items():
        assert key in CREDENTIALS
        assert value == "" or "CHANGE-ME" in value, "%s looks like a real secret" % key
    assert "data" not in one("Secret")


def test_the_same_image_for_every_service():
    assert len({container(name)["image"] for name in SERVICE_NAMES}) == 1


# --- what each Deployment promises -------------------------------------------------------

@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_probes_resources_and_graceful_termination(name):
    deployment = objects("Deployment")[name]
    pod = deployment["spec"]["template"]["spec"]
    main = container(name)
    for probe in ("readinessProbe", "livenessProbe"):
        assert probe in main, "%s has no %s" % (name, probe)
    if name == "gateway":
        assert main["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert main["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        from services.gateway.openapi import ROUTES
        assert ("GET", "/health/live") in ROUTES and ("GET", "/health/ready") in ROUTES
    else:
        assert main["livenessProbe"]["exec"]["command"] == [
            "python", "deploy/healthcheck.py", "live", name]
        assert main["readinessProbe"]["exec"]["command"] == [
            "python", "deploy/healthcheck.py", "ready", name]
        env = {variable["name"]: variable.get("value") for variable in main["env"]}
        port = [p["containerPort"] for p in main["ports"] if p["name"] == "metrics"]
        assert port and env.get("METRICS_PORT") == str(port[0]), \
            "%s: `live` asks METRICS_PORT, which must be the container's metrics port" % name
    for probe in ("readinessProbe", "livenessProbe"):
        if "exec" in main[probe]:
            assert main[probe]["timeoutSeconds"] > 8, "healthcheck.py waits up to 8 s"
    resources = main["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"]
    pre_stop = 0
    command = ((main.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command")
    if command:
        assert command[0] == "sleep"
        pre_stop = int(command[1])
    assert pod["terminationGracePeriodSeconds"] >= NAMEKO_STOP_SECONDS + pre_stop
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["enableServiceLinks"] is False   # else a Service named gateway sets GATEWAY_PORT
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_healthcheck_script_has_the_modes_the_probes_use():
    with open(os.path.join(ROOT, "deploy", "healthcheck.py"), encoding="utf-8") as handle:
        text = handle.read()
    assert '"live": check_live' in text and '"ready": check_ready' in text


def test_hazard_pods_share_the_evidence_volume():
    main = container("hazard")
    env = {variable["name"]: variable.get("value") for variable in main["env"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in main["volumeMounts"]}
    assert env["EVIDENCE_DIR"] in mounts
    volumes = {volume["name"]: volume for volume in
               objects("Deployment")["hazard"]["spec"]["template"]["spec"]["volumes"]}
    claim = volumes[mounts[env["EVIDENCE_DIR"]]]["persistentVolumeClaim"]["claimName"]
    assert objects("PersistentVolumeClaim")[claim]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_gateway_is_reached_through_its_service_and_ingress():
    pod_labels = objects("Deployment")["gateway"]["spec"]["template"]["metadata"]["labels"]
    service = objects("Service")["gateway"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    port_names = {port["name"] for port in container("gateway")["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names
    backends = [path["backend"]["service"] for rule in one("Ingress")["spec"]["rules"]
                for path in rule["http"]["paths"]]
    assert backends and all(backend["name"] == "gateway" for backend in backends)
    served = {port["name"] for port in service["spec"]["ports"]}
    assert all(backend["port"]["name"] in served for backend in backends)
    host = one("Ingress")["spec"]["rules"][0]["host"]
    assert one("ConfigMap")["data"]["PUBLIC_BASE_URL"] == "https://" + host   # QR codes


def test_disruption_budgets_and_autoscalers_target_what_exists():
    deployments = objects("Deployment")
    for name, budget in objects("PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    scaled = {hpa["spec"]["scaleTargetRef"]["name"]
              for hpa in objects("HorizontalPodAutoscaler").values()}
    keda = {scaled_object["spec"]["scaleTargetRef"]["name"]
            for scaled_object in objects("ScaledObject").values()}
    assert scaled | keda <= set(deployments)
    assert not scaled & keda, "KEDA makes its own HPA: one autoscaler per Deployment"


# --- KEDA on the queues the code declares -------------------------------------------------

def consumers_of(name):
    """The consumer names of a service's @subscribe methods (its queues are
    <QUEUE_PREFIX>.<consumer name>, einspection/nameko_glue.py)."""
    module, cls = launch.SERVICES[name].split(":")
    return sorted({consumer for consumer, _keys in
                   subscriptions_of(getattr(importlib.import_module(module), cls))})


def test_the_consumers_are_discovered():
    assert {"hazard", "scoring", "notify"} <= {name for name in SERVICE_NAMES
                                               if consumers_of(name)}


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_each_consumer_scales_on_its_own_queue(name):
    scaled = [scaled_object for scaled_object in objects("ScaledObject").values()
              if scaled_object["spec"]["scaleTargetRef"]["name"] == name]
    consumers = consumers_of(name)
    if not consumers:
        assert not scaled, "%s consumes no queue: nothing to scale it on" % name
        return
    assert len(scaled) == 1, "%s consumes %s: it needs one ScaledObject" % (name, consumers)
    spec = scaled[0]["spec"]
    prefix = one("ConfigMap")["data"]["QUEUE_PREFIX"]
    queues = {trigger["metadata"]["queueName"] for trigger in spec["triggers"]
              if trigger["type"] == "rabbitmq"}
    assert queues == {"%s.%s" % (prefix, consumer) for consumer in consumers}
    # never to zero: the service answers RPCs and runs timers
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    authentications = objects("TriggerAuthentication")
    for trigger in spec["triggers"]:
        authentication = authentications[trigger["authenticationRef"]["name"]]
        assert {"parameter": "host", "name": SECRET, "key": "AMQP_URI"} in \
            authentication["spec"]["secretTargetRef"]
