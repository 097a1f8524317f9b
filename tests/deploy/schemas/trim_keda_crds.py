"""Rebuild keda.yaml from KEDA's CRD files (see README.md in this folder).

    cd tests/deploy/schemas && python trim_keda_crds.py v2.20.2 \
        keda.sh_scaledobjects.yaml keda.sh_triggerauthentications.yaml > keda.yaml

Keeps only each kind's v1alpha1 openAPIV3Schema, without `status` (the operator writes it, a
manifest never does) and without descriptions (they do not take part in validation).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

SOURCE = "https://github.com/kedacore/keda/blob/{tag}/config/crd/bases/{name}"


def strip_descriptions(node: Any, *, in_properties: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            key: strip_descriptions(value, in_properties=key == "properties" and not in_properties)
            for key, value in node.items()
            # Under `properties` a key is a field name, which may well be "description".
            if in_properties or not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [strip_descriptions(item) for item in node]
    return node


def schema_of(crd_file: Path) -> tuple[str, dict[str, Any]]:
    crd = yaml.safe_load(crd_file.read_text(encoding="utf-8"))
    (version,) = (v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    schema = version["schema"]["openAPIV3Schema"]
    schema["properties"].pop("status", None)
    return crd["spec"]["names"]["kind"], strip_descriptions(schema)


def main(tag: str, *crd_files: str) -> None:
    print(f"# KEDA {tag}: the v1alpha1 openAPIV3Schema of these CRDs, trimmed by trim_keda_crds.py")
    for name in crd_files:
        print(f"#   {SOURCE.format(tag=tag, name=Path(name).name)}")
    schemas = dict(schema_of(Path(name)) for name in crd_files)
    print(yaml.safe_dump({"keda_version": tag, "schemas": schemas}, sort_keys=False,
                         allow_unicode=True, width=100), end="")


if __name__ == "__main__":
    main(*sys.argv[1:])
