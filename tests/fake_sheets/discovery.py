"""Checks requests against the official Sheets v4 discovery document.

The document ships inside google-api-python-client (googleapiclient/discovery_cache/documents/
sheets.v4.json). Every request body, query parameter and field mask the fake receives is walked
against its JSON schema: an unknown field, a wrong type, an unknown enum value, a deprecated
field (e.g. ``backgroundColor`` instead of ``backgroundColorStyle``) or a read-only field is an
error, so code that would be rejected (or silently ignored) by the real API fails its tests.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import googleapiclient

from .fields import MaskError, Tree, parse_mask

DISCOVERY_PATH = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "sheets.v4.json"


@lru_cache(maxsize=1)
def load_discovery() -> dict[str, Any]:
    return json.loads(DISCOVERY_PATH.read_text(encoding="utf-8"))


def _methods(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from resource.get("methods", {}).values()
    for sub in resource.get("resources", {}).values():
        yield from _methods(sub)


class DiscoveryValidator:
    """Validates values against the discovery document's schemas. Every ``check_*`` method
    returns a list of human-readable problems (empty when the value is valid)."""

    def __init__(self, *, reject_deprecated: bool = True, document: dict[str, Any] | None = None) -> None:
        self.doc = document or load_discovery()
        self.schemas: dict[str, dict[str, Any]] = self.doc["schemas"]
        self.reject_deprecated = reject_deprecated
        self.methods = {m["id"]: m for m in _methods(self.doc)}

    # ---- routing --------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
        """(HTTP method, path regex, method) for every API method, longest paths first so
        '/values:batchGet' wins over '/values/{range}'."""
        out = []
        for method in self.methods.values():
            pattern = re.escape(method["flatPath"])
            pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+?)", pattern)
            out.append((method["httpMethod"], re.compile(f"^/{pattern}$"), method))
        out.sort(key=lambda r: len(r[2]["flatPath"]), reverse=True)
        return out

    # ---- query parameters -----------------------------------------------------------------

    def check_query(self, method_id: str, query: dict[str, list[str]]) -> list[str]:
        method = self.methods[method_id]
        known = {**self.doc["parameters"], **method.get("parameters", {})}
        errors = []
        for name, values in query.items():
            spec = known.get(name)
            if spec is None or spec.get("location") != "query":
                errors.append(f"{method_id}: unknown query parameter {name!r}{self._suggest(name, known)}")
                continue
            if len(values) > 1 and not spec.get("repeated"):
                errors.append(f"{method_id}: query parameter {name!r} given {len(values)} times but is not repeated")
            for value in values:
                if "enum" in spec and value not in spec["enum"]:
                    errors.append(f"{method_id}: {name}={value!r} is not one of {spec['enum']}")
                if spec.get("type") == "boolean" and value.lower() not in ("true", "false"):
                    errors.append(f"{method_id}: {name}={value!r} is not a boolean")
                if spec.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                    errors.append(f"{method_id}: {name}={value!r} is not an integer")
        for name, spec in method.get("parameters", {}).items():
            if spec.get("location") == "query" and spec.get("required") and name not in query:
                errors.append(f"{method_id}: required query parameter {name!r} missing")
        return errors

    # ---- bodies -----------------------------------------------------------------------------

    def check_body(self, method_id: str, body: Any) -> list[str]:
        method = self.methods[method_id]
        if "request" not in method:
            return [] if body in (None, {}) else [f"{method_id}: takes no request body"]
        return self.check_schema(method["request"]["$ref"], body)

    def check_schema(self, schema_name: str, value: Any, path: str = "") -> list[str]:
        errors: list[str] = []
        self._walk(value, {"$ref": schema_name}, path or schema_name, errors)
        return errors

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        return self.schemas[schema["$ref"]] if "$ref" in schema else schema

    def _walk(self, value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
        schema = self._resolve(schema)
        kind = schema.get("type")
        if value is None:
            return  # proto3 JSON: null means "the default value", for any field
        if kind == "object":
            self._walk_object(value, schema, path, errors)
        elif kind == "array":
            if not isinstance(value, list):
                errors.append(f"{path}: expected a list, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                self._walk(item, schema["items"], f"{path}[{i}]", errors)
        elif kind == "string":
            self._check_string(value, schema, path, errors)
        elif kind == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and re.fullmatch(r"-?\d+", value))
            if not ok:
                errors.append(f"{path}: expected an integer, got {value!r}")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(f"{path}: expected a number, got {value!r}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append(f"{path}: expected true/false, got {value!r}")
        elif kind != "any":
            errors.append(f"{path}: schema type {kind!r} not understood by the validator")

    def _walk_object(self, value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in props:
                spec = props[key]
                if spec.get("deprecated") and self.reject_deprecated:
                    errors.append(f"{where}: field is deprecated ({spec.get('description', '').strip()[:120]})")
                if spec.get("readOnly"):
                    errors.append(f"{where}: field is read-only")
                self._walk(item, spec, where, errors)
            elif extra is not None:
                self._walk(item, extra, where, errors)
            else:
                errors.append(f"{where}: unknown field{self._suggest(key, props)}")

    @staticmethod
    def _check_string(value: Any, schema: dict[str, Any], path: str, errors: list[str]) -> None:
        fmt = schema.get("format")
        if fmt in ("int64", "uint64") and isinstance(value, int) and not isinstance(value, bool):
            return  # int64 may be sent as a JSON number or a string
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r}")
        elif "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} is not one of {schema['enum']}")

    @staticmethod
    def _suggest(name: str, known: Any) -> str:
        close = difflib.get_close_matches(name, list(known), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    # ---- field masks ----------------------------------------------------------------------

    def check_mask(self, schema_name: str, mask: str, path: str = "fields") -> list[str]:
        """Every name in a field mask must be a field of the schema it applies to."""
        try:
            tree = parse_mask(mask)
        except MaskError as exc:
            return [f"{path}: {exc}"]
        errors: list[str] = []
        self._walk_mask(tree, {"$ref": schema_name}, path, errors)
        return errors

    def _walk_mask(self, tree: Tree, schema: dict[str, Any], path: str, errors: list[str]) -> None:
        schema = self._resolve(schema)
        while schema.get("type") == "array":
            schema = self._resolve(schema["items"])
        props = schema.get("properties", {})
        for name, sub in tree.items():
            if name == "*":
                continue
            if name not in props:
                owner = schema.get("id", "this object")
                errors.append(f"{path}: {name!r} is not a field of {owner}{self._suggest(name, props)}")
                continue
            if sub is not None:
                self._walk_mask(sub, props[name], f"{path}.{name}", errors)
