"""A self-contained, static HTML view of the OpenAPI document: no script, no external stylesheet or
font (the local stack has no internet), one page listing every operation, its parameters,
bodies, responses and the component schemas, with `$ref`s as in-page links."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header,main{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:24px}
h1{margin:0 0 4px}h2{margin-top:40px;border-bottom:1px solid #d8dde5;padding-bottom:4px}
h3{margin:0;font-size:17px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f0f2f5;padding:10px;overflow:auto;border-radius:4px;margin:6px 0}
table{border-collapse:collapse;margin:8px 0;width:100%}
th,td{border:1px solid #d8dde5;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}
section.op{background:#fff;border:1px solid #d8dde5;border-radius:6px;padding:14px 18px;margin:14px 0}
.method{font:bold 12px ui-monospace,monospace;color:#fff;border-radius:3px;padding:3px 8px;text-transform:uppercase}
.get{background:#2f7d32}.post{background:#1565c0}.delete{background:#c62828}.put,.patch{background:#ef6c00}
.opid{color:#5b6576;font-size:13px}
nav ul{columns:2;padding-left:18px}
details{margin:6px 0}summary{cursor:pointer}
.status{font-weight:bold}
"""


def _inline(text: str) -> str:
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)


def _table(lines: list[str]) -> str:
    rows = []
    for line in lines:
        cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if all(re.fullmatch(r":?-+:?", cell) for cell in cells if cell):
            continue
        rows.append(cells)
    if not rows:
        return ""
    head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def markdown(text: str) -> str:
    """The small subset of Markdown the document uses: paragraphs, pipe tables, `code`, **bold**."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if lines and all(line.lstrip().startswith("|") for line in lines):
            out.append(_table(lines))
        elif block.strip():
            out.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(out)


def _anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _json(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """Pretty JSON with every `#/components/schemas/X` reference made a link."""
    html = escape(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
    return re.sub(
        r"&quot;#/components/schemas/([^&]+)&quot;",
        lambda m: f'&quot;<a href="#{_anchor(m.group(1))}">#/components/schemas/{m.group(1)}</a>&quot;',
        html,
    )


def _schema_block(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    if ref.startswith("#/components/schemas/") and len(schema) == 1:
        name = ref.rsplit("/", 1)[1]
        return f'<p>Schema: <a href="#{_anchor(name)}"><code>{escape(name)}</code></a></p>'
    return f"<details><summary>Schema</summary><pre>{_json(schema)}</pre></details>"


def _security(operation: dict[str, Any], schemes: dict[str, Any]) -> str:
    if "security" not in operation:
        return ""
    if not operation["security"]:
        return "<p><strong>Authentication:</strong> none</p>"
    options = []
    for requirement in operation["security"]:
        parts = []
        for name in requirement:
            scheme = schemes.get(name, {})
            where = f"{scheme.get('in', '')} <code>{escape(scheme.get('name', name))}</code>" if scheme.get("type") == "apiKey" else escape(name)
            parts.append(f'<a href="#security-{escape(name)}">{escape(name)}</a> ({where})')
        options.append(" + ".join(parts))
    return "<p><strong>Authentication</strong> (one of):</p><ul>" + "".join(f"<li>{o}</li>" for o in options) + "</ul>"


def _parameters(operation: dict[str, Any]) -> str:
    params = operation.get("parameters") or []
    if not params:
        return ""
    rows = []
    for p in params:
        schema = p.get("schema", {})
        rows.append(
            "<tr>"
            f"<td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td><code>{escape(json.dumps(schema, sort_keys=True, ensure_ascii=False))}</code></td>"
            f"<td>{_inline(p.get('description', ''))}</td>"
            "</tr>"
        )
    return (
        "<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _request_body(operation: dict[str, Any]) -> str:
    body = operation.get("requestBody")
    if not body:
        return ""
    parts = [f"<h4>Request body{' (required)' if body.get('required') else ''}</h4>"]
    if body.get("description"):
        parts.append(markdown(body["description"]))
    for media, content in sorted(body.get("content", {}).items()):
        parts.append(f"<p><code>{escape(media)}</code></p>{_schema_block(content.get('schema', {}))}")
    return "".join(parts)


def _responses(operation: dict[str, Any]) -> str:
    parts = ["<h4>Responses</h4>"]
    for status, response in sorted(operation.get("responses", {}).items()):
        parts.append(f'<div><p><span class="status">{escape(status)}</span> {_inline(response.get("description", ""))}</p>')
        for header in sorted(response.get("headers", {})):
            parts.append(f"<p>Header <code>{escape(header)}</code></p>")
        for media, content in sorted(response.get("content", {}).items()):
            parts.append(f"<p><code>{escape(media)}</code></p>{_schema_block(content.get('schema', {}))}")
        parts.append("</div>")
    return "".join(parts)


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                found.append((path, method, item[method]))
    return found


def render_html(openapi: dict[str, Any]) -> str:
    """The document as one static HTML page (deterministic for a given document)."""
    info = openapi.get("info", {})
    schemes = openapi.get("components", {}).get("securitySchemes", {})
    operations = _operations(openapi)
    tag_names = [t["name"] for t in openapi.get("tags", [])]
    for _, _, op in operations:
        for tag in op.get("tags") or ["default"]:
            if tag not in tag_names:
                tag_names.append(tag)
    tag_info = {t["name"]: t.get("description", "") for t in openapi.get("tags", [])}

    nav, body = [], []
    for tag in tag_names:
        ops = [(path, method, op) for path, method, op in operations if tag in (op.get("tags") or ["default"])]
        if not ops:
            continue
        nav.append(f"<li><strong>{escape(tag)}</strong><ul>")
        body.append(f'<h2 id="tag-{escape(re.sub(r"[^A-Za-z0-9]+", "-", tag))}">{escape(tag)}</h2>{markdown(tag_info.get(tag, ""))}')
        for path, method, op in ops:
            op_id = op.get("operationId", f"{method}-{path}")
            nav.append(f'<li><a href="#{escape(op_id)}"><code>{method.upper()} {escape(path)}</code></a></li>')
            body.append(
                f'<section class="op" id="{escape(op_id)}">'
                f'<h3><span class="method {method}">{method}</span><code>{escape(path)}</code>'
                f'<span>{escape(op.get("summary", ""))}</span></h3>'
                f'<p class="opid">operationId: <code>{escape(op_id)}</code></p>'
                f"{markdown(op.get('description', ''))}"
                f"{_security(op, schemes)}{_parameters(op)}{_request_body(op)}{_responses(op)}"
                "</section>"
            )
        nav.append("</ul></li>")

    security = [
        f'<tr id="security-{escape(name)}"><td><code>{escape(name)}</code></td><td>{escape(s.get("type", ""))}</td>'
        f'<td>{escape(s.get("in", ""))} <code>{escape(s.get("name", ""))}</code></td><td>{_inline(s.get("description", ""))}</td></tr>'
        for name, s in sorted(schemes.items())
    ]
    schemas = [
        f'<section id="{_anchor(name)}"><h3><code>{escape(name)}</code></h3>'
        f"{markdown(schema.get('description', '')) if isinstance(schema, dict) else ''}<pre>{_json(schema)}</pre></section>"
        for name, schema in sorted(openapi.get("components", {}).get("schemas", {}).items())
    ]
    servers = "".join(f"<li><code>{escape(s.get('url', ''))}</code> {_inline(s.get('description', ''))}</li>" for s in openapi.get("servers", []))
    title = escape(info.get("title", "API"))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{title}</h1><p>version {escape(str(info.get('version', '')))} &middot; OpenAPI {escape(str(openapi.get('openapi', '')))}</p></header>"
        f"<main>{markdown(info.get('description', ''))}"
        f"{'<h2>Servers</h2><ul>' + servers + '</ul>' if servers else ''}"
        f"<h2>Operations</h2><nav><ul>{''.join(nav)}</ul></nav>"
        f"{''.join(body)}"
        "<h2 id=\"security\">Authentication schemes</h2><table><thead><tr><th>name</th><th>type</th><th>where</th><th>description</th></tr></thead>"
        f"<tbody>{''.join(security)}</tbody></table>"
        f"<h2 id=\"schemas\">Schemas</h2>{''.join(schemas)}"
        "</main></body></html>\n"
    )
