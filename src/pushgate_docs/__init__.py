"""The HTTP API's documentation: the OpenAPI 3.1 document (docs/openapi.json), the error codes
(docs/errors.md) and a static HTML view, generated from template.yaml and the models here.

Not part of any Lambda function: nothing under layers/ or functions/ imports it.
Regenerate the committed files with `python -m pushgate_docs`."""

from pushgate_docs.errors_md import render_errors_markdown
from pushgate_docs.html import render_html
from pushgate_docs.openapi import UndocumentedRoutesError, build_openapi, dumps

__all__ = ["UndocumentedRoutesError", "build_openapi", "dumps", "render_errors_markdown", "render_html"]
