"""CORS as an HTTP API with a CorsConfiguration does it: API Gateway itself answers preflight
requests, and on other requests replaces whatever CORS headers the function returned with the
configured ones (so browser clients behave locally as they will against AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushgate_local.http_events import HttpRequest, HttpResponse


def _joined(values: Any) -> str:
    return ",".join(str(value) for value in values or [])


@dataclass(frozen=True)
class CorsPolicy:
    allow_origins: tuple[str, ...] = ()
    allow_methods: str = ""
    allow_headers: str = ""
    expose_headers: str = ""
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> "CorsPolicy | None":
        if not config:
            return None
        return cls(
            allow_origins=tuple(str(origin) for origin in config.get("AllowOrigins") or []),
            allow_methods=_joined(config.get("AllowMethods")),
            allow_headers=_joined(config.get("AllowHeaders")).lower(),
            expose_headers=_joined(config.get("ExposeHeaders")).lower(),
            max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
            allow_credentials=bool(config.get("AllowCredentials", False)),
        )

    def _allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if "*" in self.allow_origins and not self.allow_credentials:
            return "*"
        return origin if origin in self.allow_origins else None

    @staticmethod
    def is_preflight(request: HttpRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and bool(request.header("origin"))
            and bool(request.header("access-control-request-method"))
        )

    def preflight(self, request: HttpRequest) -> HttpResponse:
        headers: list[tuple[str, str]] = []
        origin = self._allowed_origin(request.header("origin"))
        if origin:
            headers.append(("access-control-allow-origin", origin))
            for name, value in (
                ("access-control-allow-methods", self.allow_methods),
                ("access-control-allow-headers", self.allow_headers),
                ("access-control-max-age", "" if self.max_age is None else str(self.max_age)),
            ):
                if value:
                    headers.append((name, value))
            if self.allow_credentials:
                headers.append(("access-control-allow-credentials", "true"))
        return HttpResponse(204, headers)

    def apply(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        headers = [(name, value) for name, value in response.headers if not name.lower().startswith("access-control-")]
        origin = self._allowed_origin(request.header("origin"))
        if origin:
            headers.append(("access-control-allow-origin", origin))
            if self.expose_headers:
                headers.append(("access-control-expose-headers", self.expose_headers))
            if self.allow_credentials:
                headers.append(("access-control-allow-credentials", "true"))
        return HttpResponse(response.status, headers, response.body)
