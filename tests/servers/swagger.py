"""Check requests and responses against an official Swagger 2.0 description (Azure DevOps and GitLab publish these).

Three normalisations make the generated descriptions usable as JSON Schema, each about
how a generator writes types, none loosening a described field:
- ``{"type": "object"}`` with nothing else is .NET ``object``: any JSON value
  (work item fields hold strings, numbers and identities);
- an "object" whose only content is ``allOf: [<array>]`` is that array (``JsonPatchDocument``);
- ``{"type": "file"}`` (GitLab's generator writes multipart fields into body definitions) is the
  uploaded content, which JSON Schema has no type for; the server checks the form's field names.
Request bodies are also checked for keys the description does not have: the
service would ignore them silently, which is exactly the bug to catch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

SPECS = Path(__file__).resolve().parent.parent / "specs"


def _normalise(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _normalise(v) for k, v in node.items()}
        keys = set(node) - {"description", "x-ms-enum", "format"}
        if node.get("type") in ("object", "file") and keys == {"type"}:
            return {}
        if node.get("type") == "object" and not node.get("properties") and len(node.get("allOf") or []) == 1:
            inner = node["allOf"][0]
            if isinstance(inner, dict) and inner.get("type") == "array":
                return inner
        return node
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    return node


class Spec:
    def __init__(self, path: Path):
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        self.definitions = _normalise(data["definitions"])
        self.parameters = data.get("parameters", {})
        self.operations: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for template, ops in data["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$", re.IGNORECASE)
            for method, op in ops.items():
                self.operations.append((method.upper(), pattern, op))

    def operation(self, method: str, path: str) -> dict[str, Any]:
        matches = [op for m, pattern, op in self.operations if m == method and pattern.match(path)]
        if not matches:
            raise AssertionError(f"{method} {path} is not in the API description")
        return min(matches, key=lambda op: len(op.get("parameters", [])))  # the most specific template

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {**_normalise(schema), "definitions": self.definitions}

    def check_request(self, method: str, path: str, body: Any) -> None:
        op = self.operation(method, path)
        for param in op.get("parameters", []):
            if "$ref" in param:
                param = self.parameters[param["$ref"].split("/")[-1]]
            if param.get("in") == "body" and "$ref" in param.get("schema", {}):
                schema = self._schema(param["schema"])
                jsonschema.validate(body, schema)
                self._no_unknown_keys(body, param["schema"])
                return

    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        op = self.operation(method, path)
        response = op["responses"].get(str(status))
        if response is None and status == 201:  # the generator writes "200" where the service answers 201 Created
            response = op["responses"].get("200")
        if response is None:
            raise AssertionError(f"{method} {path} is not described as answering {status}")
        schema = response.get("schema")
        if schema is None:
            return
        if schema.get("type") == "array":  # on the wire, Azure DevOps wraps lists: {"count": n, "value": [...]}
            assert set(payload) == {"count", "value"} and payload["count"] == len(payload["value"]), payload
            payload = payload["value"]
        jsonschema.validate(payload, self._schema(schema))

    def _no_unknown_keys(self, body: Any, schema: dict[str, Any]) -> None:
        definition = self._resolve(schema)
        if isinstance(body, list):
            items = definition.get("items") or {}
            for item in body:
                self._no_unknown_keys(item, items)
        elif isinstance(body, dict) and definition.get("properties"):
            known = set(self._properties(definition))
            unknown = set(body) - known
            if unknown:
                raise AssertionError(f"keys the API description does not have: {sorted(unknown)}")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].split("/")[-1]]
        return schema

    def _properties(self, definition: dict[str, Any]) -> dict[str, Any]:
        props = dict(definition.get("properties") or {})
        for part in definition.get("allOf") or []:
            props.update(self._properties(self._resolve(part)))
        return props


def azure_devops(name: str) -> Spec:
    return Spec(SPECS / "azure-devops" / f"{name}-7.1.json")


def gitlab() -> Spec:
    """The merge request and upload operations of GitLab's description (an extract: tests/specs/gitlab)."""
    return Spec(SPECS / "gitlab" / "merge-requests.json")
