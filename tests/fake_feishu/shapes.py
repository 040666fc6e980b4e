"""The Feishu Open API calls the fake serves, with the request shapes their documentation pages
give, kept as data (one entry per endpoint, with the page it follows). The fake checks every
request against these: unknown fields or query parameters, wrong types, values outside the
documented enums and over the documented limits answer HTTP 400 and are recorded as errors,
so code the real API would reject fails its tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DOCS = "https://open.feishu.cn/document/server-docs"


def obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    return {"type": "object", "props": props, "required": required}


def arr(item: Any, max_items: int | None = None) -> dict[str, Any]:
    return {"type": "array", "item": item, "max": max_items}


def enum(*values: Any) -> dict[str, Any]:
    return {"type": "enum", "values": values}


S, INT, N, B = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
ANY = {"type": "any"}
# A cell in values_batch_update: string, number, or one of the documented objects (formula, url, mention).
CELL = {"type": "cell"}

STYLE = obj(
    font=obj(bold=B, italic=B, fontSize=S, clean=B), textDecoration=enum(0, 1, 2, 3), formatter=S,
    hAlign=enum(0, 1, 2), vAlign=enum(0, 1, 2), foreColor=S, backColor=S, borderType=S, borderColor=S, clean=B)
CF_STYLE = obj(font=obj(bold=B, italic=B), text_decoration=enum(0, 1, 2, 3), fore_color=S, back_color=S)
CF_RULE_TYPES = ("containsBlanks", "notContainsBlanks", "duplicateValues", "uniqueValues", "cellIs",
                 "containsText", "timePeriod")
CONDITION_FORMAT = obj(("ranges", "rule_type", "style"), cf_id=S, ranges=arr(S), rule_type=enum(*CF_RULE_TYPES),
                       attrs=arr(obj(operator=S, formula=arr(S), text=S, time_period=S)), style=CF_STYLE)


@dataclass(frozen=True)
class Endpoint:
    kind: str  # what tests count: "values_batch_get", "condition_formats.batch_create", ...
    method: str
    path: str  # with :spreadsheet_token
    doc: str  # the documentation page the shape follows
    query: dict[str, Any] | None = None  # name -> schema (+ "required" list under "_required")
    body: dict[str, Any] | None = None
    writes: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.escape(self.path).replace(re.escape(":spreadsheet_token"), "(?P<token>[^/]+)") + "$")


V2 = "/open-apis/sheets/v2/spreadsheets/:spreadsheet_token"
V3 = "/open-apis/sheets/v3/spreadsheets/:spreadsheet_token"

TOKEN = Endpoint("tenant_access_token", "POST", "/open-apis/auth/v3/tenant_access_token/internal",
                 f"{DOCS}/authentication-management/access-token/tenant_access_token_internal",
                 body=obj(("app_id", "app_secret"), app_id=S, app_secret=S))

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("sheets.query", "GET", f"{V3}/sheets/query", f"{DOCS}/docs/sheets-v3/spreadsheet-sheet/query",
             query={}),
    Endpoint("values_batch_get", "GET", f"{V2}/values_batch_get",
             f"{DOCS}/docs/sheets-v3/data-operation/reading-multiple-ranges",
             query={"ranges": S, "valueRenderOption": enum("ToString", "FormattedValue", "Formula", "UnformattedValue"),
                    "dateTimeRenderOption": enum("FormattedString"), "user_id_type": enum("open_id", "union_id"),
                    "_required": ("ranges",)}),
    Endpoint("values_batch_update", "POST", f"{V2}/values_batch_update",
             f"{DOCS}/docs/sheets-v3/data-operation/write-data-to-multiple-ranges",
             body=obj(("valueRanges",), valueRanges=arr(obj(("range", "values"), range=S,
                                                             values=arr(arr(CELL, 100), 5000)))), writes=True),
    Endpoint("styles_batch_update", "PUT", f"{V2}/styles_batch_update",
             f"{DOCS}/docs/sheets-v3/data-operation/batch-set-cell-style",
             body=obj(("data",), data=arr(obj(("ranges", "style"), ranges=arr(S), style=STYLE))), writes=True),
    Endpoint("sheets_batch_update", "POST", f"{V2}/sheets_batch_update",
             f"{DOCS}/docs/sheets-v3/spreadsheet-sheet/operate-sheets",
             body=obj(("requests",), requests=arr(obj(
                 addSheet=obj(("properties",), properties=obj(("title",), title=S, index=INT)),
                 copySheet=obj(("source",), source=obj(("sheetId",), sheetId=S), destination=obj(title=S)),
                 deleteSheet=obj(("sheetId",), sheetId=S),
                 updateSheet=obj(("properties",), properties=obj(
                     ("sheetId",), sheetId=S, title=S, index=INT, hidden=B, frozenRowCount=INT, frozenColCount=INT,
                     protect=obj(("lock",), lock=enum("LOCK", "UNLOCK"), lockInfo=S, userIDs=arr(S))))))),
             writes=True),
    Endpoint("dimension_range.add", "POST", f"{V2}/dimension_range",
             f"{DOCS}/docs/sheets-v3/sheet-rowcol/add-rows-or-columns",
             body=obj(("dimension",), dimension=obj(("sheetId", "majorDimension", "length"), sheetId=S,
                                                    majorDimension=enum("ROWS", "COLUMNS"),
                                                    length={"type": "integer", "min": 1, "max": 5000})),
             writes=True),
    Endpoint("dimension_range.update", "PUT", f"{V2}/dimension_range",
             f"{DOCS}/docs/sheets-v3/sheet-rowcol/update-rows-or-columns",
             body=obj(("dimension", "dimensionProperties"),
                      dimension=obj(("sheetId", "majorDimension", "startIndex", "endIndex"), sheetId=S,
                                    majorDimension=enum("ROWS", "COLUMNS"), startIndex={"type": "integer", "min": 1},
                                    endIndex={"type": "integer", "min": 1}),
                      dimensionProperties=obj(visible=B, fixedSize=INT)), writes=True),
    Endpoint("dataValidation", "POST", f"{V2}/dataValidation",
             f"{DOCS}/docs/sheets-v3/datavalidation/set-dropdown",
             body=obj(("range", "dataValidationType", "dataValidation"), range=S, dataValidationType=enum("list"),
                      dataValidation=obj(("conditionValues",), conditionValues=arr(S, 500),
                                         options=obj(multipleValues=B, highlightValidData=B, colors=arr(S)))),
             writes=True),
    Endpoint("condition_formats.get", "GET", f"{V2}/condition_formats",
             "https://open.feishu.cn/document/ukTMukTMukTM/uATMzUjLwEzM14CMxMTN/conditionformat/condition-format-get",
             query={"sheet_ids": S, "_required": ("sheet_ids",)}),
    Endpoint("condition_formats.batch_create", "POST", f"{V2}/condition_formats/batch_create",
             "https://open.feishu.cn/document/ukTMukTMukTM/uATMzUjLwEzM14CMxMTN/conditionformat/condition-format-set",
             body=obj(("sheet_condition_formats",), sheet_condition_formats=arr(
                 obj(("sheet_id", "condition_format"), sheet_id=S, condition_format=CONDITION_FORMAT), 10)),
             writes=True),
    Endpoint("condition_formats.batch_update", "POST", f"{V2}/condition_formats/batch_update",
             "https://open.feishu.cn/document/ukTMukTMukTM/uATMzUjLwEzM14CMxMTN/conditionformat/condition-format-update",
             body=obj(("sheet_condition_formats",), sheet_condition_formats=arr(
                 obj(("sheet_id", "condition_format"), sheet_id=S, condition_format=CONDITION_FORMAT), 10)),
             writes=True),
    Endpoint("condition_formats.batch_delete", "DELETE", f"{V2}/condition_formats/batch_delete",
             "https://open.feishu.cn/document/ukTMukTMukTM/uATMzUjLwEzM14CMxMTN/conditionformat/condition-format-delete",
             body=obj(("sheet_cf_ids",), sheet_cf_ids=arr(obj(("sheet_id", "cf_id"), sheet_id=S, cf_id=S), 10)),
             writes=True),
)


def check(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """Problems of ``value`` against ``schema`` (empty when it fits)."""
    kind = schema["type"]
    if kind == "any":
        return []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        errors = [f"{path}.{k}: not a documented field" for k in value if k not in schema["props"]]
        errors += [f"{path}.{k}: required" for k in schema["required"] if k not in value]
        for k, v in value.items():
            if k in schema["props"]:
                errors += check(schema["props"][k], v, f"{path}.{k}")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        errors = []
        if schema["max"] is not None and len(value) > schema["max"]:
            errors.append(f"{path}: {len(value)} items, the documented limit is {schema['max']}")
        for i, item in enumerate(value):
            errors += check(schema["item"], item, f"{path}[{i}]")
            if len(errors) > 5:
                break
        return errors
    if kind == "enum":
        return [] if value in schema["values"] else [f"{path}: {value!r} is not one of {list(schema['values'])}"]
    if kind == "string":
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected an integer, got {value!r}"]
        if value < schema.get("min", -10**18) or value > schema.get("max", 10**18):
            return [f"{path}: {value} outside {schema.get('min')}..{schema.get('max')}"]
        return []
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if kind == "cell":
        if value is None or isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return []
        if isinstance(value, dict) and value.get("type") in ("formula", "url", "mention"):
            return []
        return [f"{path}: {value!r} is not a documented cell value (string, number, formula/url/mention object)"]
    raise AssertionError(kind)


def check_query(endpoint: Endpoint, query: dict[str, list[str]]) -> list[str]:
    spec = endpoint.query or {}
    errors = [f"{endpoint.kind}: unknown query parameter {k!r}" for k in query if k not in spec or k == "_required"]
    errors += [f"{endpoint.kind}: required query parameter {k!r} missing" for k in spec.get("_required", ())
               if k not in query]
    for k, values in query.items():
        if k in spec and k != "_required":
            for v in values:
                errors += check(spec[k], v, f"{endpoint.kind}?{k}")
    return errors
