#!/usr/bin/env python3
"""Offline checks for rendered Kubernetes manifests, used by scripts/check/chart-test.sh.

  chart-validate.py crd-schemas CRD_DIR OUT_DIR
      Turn each CRD's openAPIV3Schema into a strict JSON schema (unknown fields rejected) laid out
      for kubeconform: OUT_DIR/<group>/<kind>_<version>.json (kind lower-cased).
  chart-validate.py native-schemas SCHEMA_ROOT OUT_DIR VERSIONS MANIFEST...
      kubernetes-validate's bundled strict schemas reference a shared definitions file through an
      https $id that kubeconform would try to fetch: write self-contained copies (references
      inlined) for the built-in kinds used in MANIFEST, for each comma-separated version, as
      OUT_DIR/v<version>/<kind>-<group>-<version>.json (kubeconform's default naming).
  chart-validate.py crds CRD_DIR MANIFEST...
      Validate every custom resource in MANIFEST against those strict schemas (python-jsonschema);
      fail on a custom kind without a CRD and on an apiVersion that is neither built in nor a CRD.
  chart-validate.py invariants MANIFEST...
      Cross-object rules: workload selectors match their pod labels; Service/PDB/NetworkPolicy
      selectors select a workload; at most one autoscaler (HPA or ScaledObject) per Deployment;
      every ConfigMap/Secret/ServiceAccount a pod references is rendered (hooks included) or
      declared external.
  chart-validate.py schema SCHEMA.json DOC.yaml
      Validate one YAML document against a JSON schema (skaffold.yaml).
"""
import copy
import json
import os
import sys

import jsonschema
import yaml

# Groups served by the API server itself (validated by kubernetes-validate / kubeconform).
BUILTIN_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "coordination.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "node.k8s.io", "discovery.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io", "events.k8s.io",
}


def fail(msg):
    print(f"chart-validate: {msg}", file=sys.stderr)
    sys.exit(1)


def load_docs(paths):
    docs = []
    for path in paths:
        with open(path) as fh:
            for doc in yaml.safe_load_all(fh):
                if doc:
                    docs.append((path, doc))
    return docs


def group_version(api_version):
    return api_version.split("/", 1) if "/" in api_version else ("", api_version)


def strict(node):
    """Close every object schema that lists properties, following Kubernetes' structural rules."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    for key in [k for k in out if k.startswith("x-kubernetes-")]:
        out.pop(key)
    return out


def crd_schemas(crd_dir):
    """{(group, version, kind): strict JSON schema}"""
    schemas = {}
    for name in sorted(os.listdir(crd_dir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(crd_dir, name)) as fh:
            for crd in yaml.safe_load_all(fh):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for ver in spec["versions"]:
                    schema = strict(copy.deepcopy(ver["schema"]["openAPIV3Schema"]))
                    props = schema.setdefault("properties", {})
                    props["apiVersion"] = {"enum": [f"{spec['group']}/{ver['name']}"]}
                    props["kind"] = {"enum": [spec["names"]["kind"]]}
                    # Only the ObjectMeta fields a chart sets.
                    props["metadata"] = {
                        "type": "object", "additionalProperties": False, "required": ["name"],
                        "properties": {
                            "name": {"type": "string"}, "namespace": {"type": "string"},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    }
                    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
                    schema["$schema"] = "http://json-schema.org/draft-04/schema#"
                    schemas[(spec["group"], ver["name"], spec["names"]["kind"])] = schema
    if not schemas:
        fail(f"no CRDs found in {crd_dir}")
    return schemas


def cmd_crd_schemas(crd_dir, out_dir):
    for (group, version, kind), schema in crd_schemas(crd_dir).items():
        path = os.path.join(out_dir, group, f"{kind.lower()}_{version}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(schema, fh, indent=1)
    print(f"chart-validate: wrote strict schemas for {len(crd_schemas(crd_dir))} CRD versions to {out_dir}")


def inline_refs(node, defs, stack=()):
    if isinstance(node, list):
        return [inline_refs(n, defs, stack) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        rest = {k: inline_refs(v, defs, stack) for k, v in node.items() if k != "$ref"}
        if name in stack:  # recursive type (e.g. JSONSchemaProps): accept anything below
            return rest
        out = dict(inline_refs(defs[name], defs, stack + (name,)))
        out.update(rest)
        return out
    return {k: inline_refs(v, defs, stack) for k, v in node.items()}


def cmd_native_schemas(root, out_dir, versions, paths):
    kinds = set()
    for _, doc in load_docs(paths):
        group, version = group_version(doc.get("apiVersion", ""))
        if group in BUILTIN_GROUPS:
            kinds.add((doc["kind"].lower(), group.split(".")[0], version))
    written = 0
    for kv in versions.split(","):
        src = os.path.join(root, f"v{kv}-local-strict")
        if not os.path.isdir(src):
            fail(f"kubernetes-validate has no schemas for Kubernetes {kv} ({src})")
        with open(os.path.join(src, "_definitions.json")) as fh:
            defs = json.load(fh)["$defs"]
        dst = os.path.join(out_dir, f"v{kv}")
        os.makedirs(dst, exist_ok=True)
        for kind, group, version in sorted(kinds):
            name = f"{kind}-{group}-{version}.json" if group else f"{kind}-{version}.json"
            if not os.path.exists(os.path.join(src, name)):
                continue  # kubeconform then reports the kind as having no schema
            with open(os.path.join(src, name)) as fh:
                schema = json.load(fh)
            schema.pop("$id", None)
            with open(os.path.join(dst, name), "w") as fh:
                json.dump(inline_refs(schema, defs), fh)
            written += 1
    print(f"chart-validate: wrote {written} self-contained built-in schemas to {out_dir}")


def cmd_crds(crd_dir, paths):
    schemas = crd_schemas(crd_dir)
    crd_groups = {g for g, _, _ in schemas}
    errors, checked = [], 0
    for path, doc in load_docs(paths):
        group, version = group_version(doc.get("apiVersion", ""))
        kind = doc.get("kind")
        where = f"{os.path.basename(path)}: {kind}/{doc.get('metadata', {}).get('name')}"
        if group in BUILTIN_GROUPS:
            continue
        schema = schemas.get((group, version, kind))
        if schema is None:
            why = "no CRD for this version/kind" if group in crd_groups else "unknown API group (no CRD)"
            errors.append(f"{where}: {doc.get('apiVersion')} {why}")
            continue
        checked += 1
        validator = jsonschema.Draft4Validator(schema)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            loc = ".".join(str(p) for p in err.absolute_path) or "(root)"
            errors.append(f"{where}: {loc}: {err.message}")
    for e in errors:
        print(f"  FAIL {e}", file=sys.stderr)
    if errors:
        fail(f"{len(errors)} custom-resource error(s)")
    print(f"chart-validate: {checked} custom resource(s) valid against the CRDs")


def matches(selector, labels):
    ml = selector.get("matchLabels", {}) or {}
    if any(labels.get(k) != v for k, v in ml.items()):
        return False
    for expr in selector.get("matchExpressions", []) or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_spec(doc):
    kind = doc["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]
    return None


def cmd_invariants(paths):
    docs = [d for _, d in load_docs(paths)]
    errors = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    templates = [(d, pod_spec(d)) for d in docs if pod_spec(d) is not None]
    pod_labels = [t.get("metadata", {}).get("labels", {}) for _, t in templates]

    for d, tpl in templates:
        name = f"{d['kind']}/{d['metadata']['name']}"
        sel = d["spec"].get("selector")
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            if not sel or not matches(sel, tpl["metadata"].get("labels", {})):
                errors.append(f"{name}: selector does not match its pod template labels")
        spec = tpl["spec"]
        external_secret = {
            v.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
            for c in spec.get("containers", []) + spec.get("initContainers", []) for v in c.get("env", [])
        } - {None}
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for ef in c.get("envFrom", []):
                ref = ef.get("configMapRef", {}).get("name")
                if ref and ("ConfigMap", ref) not in names:
                    errors.append(f"{name}: envFrom ConfigMap {ref} is not rendered")
        for secret in external_secret:
            if ("Secret", secret) not in names and secret not in EXTERNAL_SECRETS:
                errors.append(f"{name}: Secret {secret} is neither rendered nor declared external")
        sa = spec.get("serviceAccountName")
        if sa and ("ServiceAccount", sa) not in names:
            errors.append(f"{name}: ServiceAccount {sa} is not rendered")

    for kind, sel_path in (("Service", ("spec", "selector")), ("PodDisruptionBudget", ("spec", "selector")),
                           ("NetworkPolicy", ("spec", "podSelector"))):
        for d in by_kind.get(kind, []):
            sel = d
            for p in sel_path:
                sel = sel.get(p, {}) if isinstance(sel, dict) else {}
            if kind == "Service":
                sel = {"matchLabels": sel}
            if not any(matches(sel, lbl) for lbl in pod_labels):
                errors.append(f"{kind}/{d['metadata']['name']}: selector matches no rendered pod template")

    targets = {}
    for d in by_kind.get("HorizontalPodAutoscaler", []) + by_kind.get("ScaledObject", []):
        ref = d["spec"]["scaleTargetRef"]
        targets.setdefault((ref.get("kind", "Deployment"), ref["name"]), []).append(d["kind"])
    for target, owners in targets.items():
        if len(owners) > 1:
            errors.append(f"{target[0]}/{target[1]} has more than one autoscaler: {owners}")
        if (target[0], target[1]) not in names:
            errors.append(f"autoscaler target {target[0]}/{target[1]} is not rendered")
    for d in by_kind.get("Deployment", []):
        if (("Deployment", d["metadata"]["name"]) in targets) and "replicas" in d["spec"]:
            errors.append(f"Deployment/{d['metadata']['name']}: sets replicas although an autoscaler owns them")

    for e in errors:
        print(f"  FAIL {e}", file=sys.stderr)
    if errors:
        fail(f"{len(errors)} invariant violation(s)")
    print(f"chart-validate: invariants hold for {len(docs)} object(s)")


def cmd_schema(schema_path, doc_path):
    with open(schema_path) as fh:
        schema = json.load(fh)
    with open(doc_path) as fh:
        doc = yaml.safe_load(fh)
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    for err in errors:
        # anyOf/oneOf (skaffold's schema wraps every object in one): report the closest branch.
        while err.context:
            err = jsonschema.exceptions.best_match(err.context)
        loc = ".".join(str(p) for p in err.absolute_path) or "(root)"
        print(f"  FAIL {doc_path}: {loc}: {err.message[:300]}", file=sys.stderr)
    if errors:
        fail(f"{doc_path} does not match {os.path.basename(schema_path)}")
    print(f"chart-validate: {doc_path} matches {os.path.basename(schema_path)}")


EXTERNAL_SECRETS = set(filter(None, os.environ.get("EXTERNAL_SECRETS", "").split(",")))

if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "crd-schemas":
        cmd_crd_schemas(args[1], args[2])
    elif len(args) >= 5 and args[0] == "native-schemas":
        cmd_native_schemas(args[1], args[2], args[3], args[4:])
    elif len(args) >= 3 and args[0] == "crds":
        cmd_crds(args[1], args[2:])
    elif len(args) >= 2 and args[0] == "invariants":
        cmd_invariants(args[1:])
    elif len(args) == 3 and args[0] == "schema":
        cmd_schema(args[1], args[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
