"""Route selection of an API Gateway HTTP API: the template's routes, most specific first.

API Gateway prefers, in order: a route without path variables, then one with variables ({name}),
then one with a greedy variable ({proxy+}); a route for the request's method over an ANY route;
and `$default` when nothing else matches. Matching works on the path as sent, segment by segment,
so an encoded slash (%2F) stays inside one path parameter; parameter values are then decoded."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from pushgate_local.template import Route

DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    route_key: str
    path_parameters: dict[str, str]


def _variable(segment: str) -> tuple[str, bool] | None:
    """(name, greedy) if the route segment is {name} or {name+}."""
    if segment.startswith("{") and segment.endswith("}"):
        name = segment[1:-1]
        return (name[:-1], True) if name.endswith("+") else (name, False)
    return None


def _match_path(route_path: str, raw_path: str) -> dict[str, str] | None:
    pattern = route_path.strip("/").split("/")
    segments = raw_path.lstrip("/").split("/")
    parameters: dict[str, str] = {}
    for index, part in enumerate(pattern):
        variable = _variable(part)
        if variable and variable[1]:  # greedy: the rest of the path, at least one segment
            rest = segments[index:]
            if not rest or rest == [""]:
                return None
            parameters[variable[0]] = unquote("/".join(rest))
            return parameters
        if index >= len(segments):
            return None
        segment = segments[index]
        if variable:
            if not segment:
                return None
            parameters[variable[0]] = unquote(segment)
        elif unquote(segment) != part:
            return None
    return parameters if len(segments) == len(pattern) else None


def _specificity(route: Route) -> tuple[int, int, int]:
    variables = [_variable(part) for part in route.path.strip("/").split("/")]
    greedy = any(v and v[1] for v in variables)
    return (int(greedy), sum(1 for v in variables if v), int(route.method == "ANY"))


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self._default = next((route for route in routes if route.path == DEFAULT_ROUTE), None)
        self._routes = sorted((route for route in routes if route.path != DEFAULT_ROUTE), key=_specificity)

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        for route in self._routes:
            if route.method not in (method, "ANY"):
                continue
            parameters = _match_path(route.path, raw_path)
            if parameters is not None:
                return RouteMatch(route, route.route_key, parameters)
        if self._default is not None:
            return RouteMatch(self._default, DEFAULT_ROUTE, {})
        return None
