"""docker/k8s/: every manifest against the Kubernetes API's and KEDA's published schemas, then
what no schema sees: the names the manifests give each other, and what tsunagu expects of them.

The Kubernetes schemas come with kubernetes-validate (offline, strict: an unknown field is an
error, as `kubectl apply` makes it). KEDA's are vendored in tests/deploy/schemas/ (README.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bot.db.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "docker" / "k8s"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

# The oldest Kubernetes the manifests are written for (README) and the newest whose schemas
# kubernetes-validate bundled when they were written: a field gone or added in between fails.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
NOT_APPLIED = {"secret.example.yaml"}  # documents the Secrets; created outside git

Doc = dict[str, Any]


def _load(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _kustomization() -> Doc:
    (kustomization,) = _load(K8S / "kustomization.yaml")
    return kustomization


def _manifests() -> list[tuple[str, Doc]]:
    files = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    return [(p.name, doc) for p in files for doc in _load(p)]


MANIFESTS = _manifests()
APPLIED = [doc for name, doc in MANIFESTS if name not in NOT_APPLIED]


def _id(item: tuple[str, Doc]) -> str:
    name, doc = item
    return f"{name}:{doc['kind']}/{doc['metadata']['name']}"


def _of(kind: str, docs: list[Doc] | None = None) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in (APPLIED if docs is None else docs)
            if d["kind"] == kind}


def _example(kind: str) -> dict[str, Doc]:
    return _of(kind, [doc for _, doc in MANIFESTS])


def _workloads() -> Iterator[tuple[str, Doc]]:
    """(a name, its pod template) for each Deployment and Job."""
    for doc in APPLIED:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]


def _containers(pod: Doc) -> list[Doc]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def _env(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


def _selects(selector: Doc, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are checked here"
    return bool(selector["matchLabels"]) and selector["matchLabels"].items() <= labels.items()


def _kind_name(doc: Doc) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def _deployment(name: str) -> Doc:
    deployments = _of("Deployment")
    assert name in deployments, f"no Deployment named {name}"
    return deployments[name]


def _single_container(deployment: str) -> Doc:
    (container,) = _deployment(deployment)["spec"]["template"]["spec"]["containers"]
    return container


# ------------------------------------------------------------------ what gets applied


def test_kustomization_applies_every_manifest_but_the_secret_example() -> None:
    resources = _kustomization()["resources"]
    on_disk = {name for name, _ in MANIFESTS}
    assert sorted(resources) == sorted(on_disk - NOT_APPLIED)
    assert all("namespace" not in doc["metadata"] for _, doc in MANIFESTS)
    assert "namespace" not in _kustomization()


def test_kustomization_renders() -> None:
    """The kustomization as kubectl builds it: same objects, the image set by `images`."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed")
    out = subprocess.run([kubectl, "kustomize", str(K8S)], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    rendered = [d for d in yaml.safe_load_all(out) if d]
    assert sorted(map(_kind_name, rendered)) == sorted(map(_kind_name, APPLIED))
    (image,) = _kustomization()["images"]
    images = {c["image"] for d in rendered if d["kind"] in ("Deployment", "Job")
              for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {f"{image['newName']}:{image['newTag']}"}


# ------------------------------------------------------------------ schemas


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("item", [m for m in MANIFESTS if not m[1]["apiVersion"].startswith(
    "keda.sh/")], ids=_id)
def test_kubernetes_schema(item: tuple[str, Doc], version: str) -> None:
    _, doc = item
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        where = ".".join(str(p) for p in e.path)
        pytest.fail(f"Kubernetes {e.version}: {where}: {e.message}")


def _closed(schema: Any) -> Any:
    """KEDA's schema with unknown fields refused, as the API server does for a custom resource
    under `kubectl apply` (strict field validation): a misspelt field fails instead of vanishing.
    """
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items() if key != "properties"}
    if "properties" in schema:
        # Under `properties` each key is a field name, not a keyword.
        closed["properties"] = {k: _closed(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            closed.setdefault("additionalProperties", False)
    return closed


KEDA = yaml.safe_load((SCHEMAS / "keda.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("item", [m for m in MANIFESTS if m[1]["apiVersion"].startswith(
    "keda.sh/")], ids=_id)
def test_keda_schema(item: tuple[str, Doc]) -> None:
    _, doc = item
    assert doc["apiVersion"] == "keda.sh/v1alpha1"
    schema = _closed(KEDA["schemas"][doc["kind"]])
    validator = jsonschema.Draft202012Validator
    validator.check_schema(schema)
    errors = sorted(validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"KEDA {KEDA['keda_version']}: {'.'.join(map(str, e.path))}: {e.message}" for e in errors)
    # `metadata` is `type: object` in the CRD: the API server checks it as any object's.
    assert set(doc["metadata"]) <= {"name", "labels", "annotations"}


def test_keda_objects_are_validated() -> None:
    kinds = {d["kind"] for d in APPLIED if d["apiVersion"].startswith("keda.sh/")}
    assert kinds == {"ScaledObject", "TriggerAuthentication"} == set(KEDA["schemas"])


# ------------------------------------------------------------------ names that refer to others


def test_selectors_match_their_pods() -> None:
    pods = {name: pod["metadata"]["labels"] for name, pod in _workloads()}
    for name, deployment in _of("Deployment").items():
        assert _selects(deployment["spec"]["selector"],
                        deployment["spec"]["template"]["metadata"]["labels"]), name
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for name, doc in _of(kind).items():
            selector = doc["spec"]["selector" if kind == "PodDisruptionBudget" else "podSelector"]
            chosen = [p for p, labels in pods.items() if _selects(selector, labels)]
            assert len(chosen) == 1 and chosen[0].startswith("Deployment/"), (kind, name, chosen)
    for name, service in _of("Service").items():
        chosen = [p for p, labels in pods.items()
                  if _selects({"matchLabels": service["spec"]["selector"]}, labels)]
        assert chosen == [f"Deployment/{name}"], (name, chosen)


def test_ports_are_named_where_they_are_used() -> None:
    services = _of("Service")
    for name, service in services.items():
        (container,) = _deployment(name)["spec"]["template"]["spec"]["containers"]
        ports = {p["name"] for p in container["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (name, port)
    for _, pod in _workloads():
        for container in _containers(pod):
            ports = {p["name"] for p in container.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if "httpGet" in container.get(probe, {}):
                    assert container[probe]["httpGet"]["port"] in ports, (container["name"], probe)
    for name, ingress in _of("Ingress").items():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services, (name, backend)
                ports = services[backend["name"]]["spec"]["ports"]
                assert any(backend["port"] in ({"name": p["name"]}, {"number": p["port"]})
                           for p in ports), (name, backend)


def test_scale_targets_exist_once() -> None:
    targets = []
    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for name, doc in _of(kind).items():
            ref = doc["spec"]["scaleTargetRef"]
            assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment"), (kind, name)
            _deployment(ref["name"])
            targets.append(ref["name"])
    # KEDA makes an HPA of its own: two autoscalers on one Deployment would fight.
    assert len(targets) == len(set(targets)) and set(targets) == set(_of("Deployment"))
    for name in targets:
        assert "replicas" not in _deployment(name)["spec"], f"{name}: the autoscaler owns it"
    for name, hpa in _of("HorizontalPodAutoscaler").items():
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
    for name, scaled in _of("ScaledObject").items():
        # The CRD's CEL rule, which jsonschema does not run; at least one for the scheduled jobs.
        assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"], name


def test_disruption_budgets_cover_every_deployment_and_allow_a_drain() -> None:
    covered = set()
    for name, pdb in _of("PodDisruptionBudget").items():
        (deployment,) = [d for d, doc in _of("Deployment").items() if _selects(
            pdb["spec"]["selector"], doc["spec"]["template"]["metadata"]["labels"])]
        covered.add(deployment)
        # Fewer available than the autoscaler's minimum, or no node could ever be drained.
        minimum = min([h["spec"]["minReplicas"] for h in _of("HorizontalPodAutoscaler").values()
                       if h["spec"]["scaleTargetRef"]["name"] == deployment]
                      + [s["spec"]["minReplicaCount"] for s in _of("ScaledObject").values()
                         if s["spec"]["scaleTargetRef"]["name"] == deployment])
        assert pdb["spec"]["minAvailable"] < minimum, name
    assert covered == set(_of("Deployment"))


def test_keda_authentication_and_secret_exist() -> None:
    auths = _of("TriggerAuthentication")
    secrets = _example("Secret")
    for name, scaled in _of("ScaledObject").items():
        triggers = scaled["spec"]["triggers"]
        assert {t["type"] for t in triggers} == {"postgresql"}, name
        for trigger in triggers:
            assert trigger["authenticationRef"]["name"] in auths, (name, trigger["name"])
            assert trigger.get("authenticationRef", {}).get("kind", "TriggerAuthentication") == \
                "TriggerAuthentication"
    for name, auth in auths.items():
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in secrets[ref["name"]]["stringData"], (name, ref)
            # pgx's connection string, not SQLAlchemy's "+psycopg" URL.
            value = secrets[ref["name"]]["stringData"][ref["key"]]
            assert value.startswith("postgresql://"), (name, ref)


def test_every_referenced_secret_and_config_key_exists() -> None:
    secrets, configs = _example("Secret"), _example("ConfigMap")
    stores = {"secretKeyRef": (secrets, "stringData"), "configMapKeyRef": (configs, "data")}
    for workload, pod in _workloads():
        for container in _containers(pod):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configs, workload
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, workload
            for name, var in _env(container).items():
                for ref_kind, (docs, field) in stores.items():
                    ref = var.get("valueFrom", {}).get(ref_kind)
                    if ref:
                        assert ref["name"] in docs, (workload, name)
                        assert ref["key"] in docs[ref["name"]][field], (workload, name)
        for volume in pod["spec"].get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, workload
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configs, workload


def test_every_tsunagu_variable_is_a_setting() -> None:
    """A misspelt TSUNAGU_ name is silently ignored by the app: its default would apply."""
    known = {f"TSUNAGU_{field.upper()}" for field in Settings.model_fields}
    names = set()
    for config in _example("ConfigMap").values():
        names |= set(config["data"])
    for secret in _example("Secret").values():
        names |= {k for k in secret["stringData"] if k.startswith("TSUNAGU_")}
    for _, pod in _workloads():
        for container in _containers(pod):
            names |= set(_env(container))
    assert names - known == set()


# ------------------------------------------------------------------ what tsunagu needs


def test_web_serves_http_only_and_the_worker_does_the_rest() -> None:
    web, worker = _single_container("tsunagu-web"), _single_container("tsunagu-worker")
    assert web["command"][:2] == ["tsunagu", "serve"]
    assert _env(web)["TSUNAGU_RUN_WORKER"] == {"name": "TSUNAGU_RUN_WORKER", "value": "false"}
    assert worker["command"][:2] == ["tsunagu", "worker"]
    # Its counts are scraped from its own /metrics port, which it names.
    port = worker["command"][worker["command"].index("--metrics-port") + 1]
    assert {"name": "metrics", "containerPort": int(port)} in worker["ports"]
    assert "TSUNAGU_RUN_WORKER" not in _env(worker)
    assert "TSUNAGU_METRICS_TOKEN" in _env(worker)  # without it its /metrics is 404
    # The worker escalates imminent cases nobody acknowledged: the on-call address and its
    # signing secret reach it from the Secret, optional so that a desk without one still runs.
    for name in ("TSUNAGU_ONCALL_WEBHOOK_URL", "TSUNAGU_ONCALL_WEBHOOK_SECRET"):
        ref = _env(worker)[name]["valueFrom"]["secretKeyRef"]
        assert ref["optional"] is True, name
    (job,) = _of("Job").values()
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["tsunagu", "db", "upgrade"]
    # Applied alone before a release (`-l app.kubernetes.io/component=migrate`, README), so it
    # may need nothing else that kustomization.yaml applies: only the Secret, created by hand.
    assert "envFrom" not in migrate
    assert all("emptyDir" in v for v in job["spec"]["template"]["spec"].get("volumes", []))
    assert all(set(v.get("valueFrom", {})) <= {"secretKeyRef"} for v in migrate["env"])
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    assert [d for d in APPLIED if d["metadata"].get("labels", {}).get(
        "app.kubernetes.io/component") == "migrate"] == [job]
    # Console logins must be readable on every web pod: one shared secret, never per pod.
    assert "secretKeyRef" in _env(web)["TSUNAGU_SESSION_SECRET"]["valueFrom"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert web[probe]["httpGet"]["path"] == "/healthz"


def test_pods_run_as_the_image_user_on_a_read_only_root() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    (uid, gid) = re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)[-1]
    for workload, pod in _workloads():
        spec = pod["spec"]
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True, workload
        assert (str(context["runAsUser"]), str(context["runAsGroup"])) == (uid, gid), workload
        assert spec["automountServiceAccountToken"] is False, workload
        mounts_tmp = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in _containers(pod):
            own = container["securityContext"]
            assert own["readOnlyRootFilesystem"] is True, workload
            assert own["allowPrivilegeEscalation"] is False, workload
            assert own["capabilities"]["drop"] == ["ALL"], workload
            # The app writes temporary files (tempfile: content releases are unpacked to load).
            assert any(m["mountPath"] == "/tmp" and m["name"] in mounts_tmp
                       for m in container.get("volumeMounts", [])), workload
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert set(limits) == set(requests) == {"cpu", "memory"}, workload


BODY_SIZE = "nginx.ingress.kubernetes.io/proxy-body-size"


def _bytes(size: str) -> int:
    """nginx's size syntax: 1m is 1 MiB."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", size)
    assert match, size
    number, unit = match.groups()
    return int(number) * 1024 ** " kmg".index(unit.lower() or " ")


def test_ingress_routes_the_public_paths_with_the_apps_body_limits() -> None:
    (config,) = _of("ConfigMap").values()
    limits = {"/line/webhook": int(config["data"]["TSUNAGU_WEBHOOK_MAX_BYTES"])}
    other = int(config["data"]["TSUNAGU_MAX_BODY_BYTES"])
    routed = set()
    for name, ingress in _of("Ingress").items():
        paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
        routed |= paths
        size = _bytes(ingress["metadata"]["annotations"][BODY_SIZE])
        assert {limits.get(p, other) for p in paths} == {size}, name
        assert ingress["spec"]["tls"], f"{name}: LINE calls only HTTPS webhooks"
    # As docker/Caddyfile: /metrics, /docs and the emulator stay inside the cluster.
    assert routed == {"/", "/line/webhook", "/console", "/healthz"}


def test_forwarded_for_is_never_believed_from_anyone() -> None:
    (config,) = _of("ConfigMap").values()
    allowed = config["data"]["TSUNAGU_FORWARDED_ALLOW_IPS"]
    assert allowed.strip() and "*" not in allowed
    # Which is only safe when nothing but the ingress controller (and Prometheus) reaches the pods.
    policies = [p for p in _of("NetworkPolicy").values()
                if _selects(p["spec"]["podSelector"],
                            _deployment("tsunagu-web")["spec"]["template"]["metadata"]["labels"])]
    assert policies and all("Ingress" in p["spec"]["policyTypes"] for p in policies)
    assert all(source for p in policies for rule in p["spec"]["ingress"] for source in rule["from"])


# ------------------------------------------------------------------ the autoscaler's queries


def _keda_queries() -> dict[str, str]:
    (scaled,) = _of("ScaledObject").values()
    return {t["name"]: t["metadata"]["query"] for t in scaled["spec"]["triggers"]}


def test_keda_queries_name_the_queue_tables_and_statuses() -> None:
    """Statuses are plain strings in SQL: a renamed one would leave the workers at their minimum."""
    queries = _keda_queries()
    inbox, outbox = queries["inbox-pending"], queries["outbox-due"]
    assert InboxEvent.__tablename__ in inbox and f"'{InboxStatus.PENDING.value}'" in inbox
    assert OutboxMessage.__tablename__ in outbox
    for status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        assert f"'{status.value}'" in outbox
    assert "next_attempt_at <= now()" in outbox


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TSUNAGU_TEST_POSTGRES_URL"),
                    reason="TSUNAGU_TEST_POSTGRES_URL is not set")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_keda_queries_count_the_waiting_work(database_url: str) -> None:
    """The two queries on a migrated database: only waiting events, only messages due now."""
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            for i, status in enumerate([InboxStatus.PENDING, InboxStatus.PENDING,
                                        InboxStatus.DONE, InboxStatus.IGNORED, InboxStatus.FAILED]):
                session.add(InboxEvent(webhook_event_id=f"e{i}", source_key="user:U1",
                                       event_type="message", event_timestamp=i, payload={},
                                       status=status))
            for status, due in [(OutboxStatus.PENDING, now - timedelta(seconds=1)),
                                (OutboxStatus.SENDING, now - timedelta(seconds=1)),  # lease over
                                (OutboxStatus.PENDING, now + timedelta(minutes=5)),  # backoff
                                (OutboxStatus.SENDING, now + timedelta(seconds=50)),  # leased
                                (OutboxStatus.SENT, now - timedelta(minutes=1)),
                                (OutboxStatus.FAILED, now - timedelta(minutes=1))]:
                session.add(OutboxMessage(line_user_id="U1", messages=[], status=status,
                                          next_attempt_at=due))
        with engine.connect() as conn:
            counts = {name: conn.execute(text(query)).scalar_one()
                      for name, query in _keda_queries().items()}
    finally:
        engine.dispose()
    assert counts == {"inbox-pending": 2, "outbox-due": 2}


# ------------------------------------------------------------------ compose, the same split


def test_compose_splits_web_and_worker_the_same_way() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    for app in ("app1", "app2"):
        assert services[app]["environment"]["TSUNAGU_RUN_WORKER"] == "false", app
    worker = services["worker"]
    assert worker["command"][:2] == ["tsunagu", "worker"] and "--metrics-port" in worker["command"]
    assert "ports" not in worker and worker["environment"].get("TSUNAGU_RUN_WORKER") != "false"
    scraped = yaml.safe_load((ROOT / "docker" / "prometheus.yml").read_text(encoding="utf-8"))
    port = worker["command"][worker["command"].index("--metrics-port") + 1]
    assert any(d.get("names") == ["worker"] and d.get("port") == int(port)
               for job in scraped["scrape_configs"] for d in job.get("dns_sd_configs", []))
