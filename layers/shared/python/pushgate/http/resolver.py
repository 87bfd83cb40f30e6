"""An HTTP API resolver whose every error, expected or not, leaves in one surface's envelope, and
whose requests count against the app's rate limit of that surface's group (docs/limits.md)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from pushgate.http import envelopes
from pushgate.http.envelopes import ErrorMapper
from pushgate.observability import logger, metrics, tracer
from pushgate.services.limits import SEND, SUBSCRIBE, counted_as

# The surface (known by its envelope) decides the rate-limit group: the server-side API (§4, and
# POST /sessions, which shares its envelope) sends; the client-facing surfaces (§2, §3, §5) subscribe.
LIMIT_GROUP_OF_ENVELOPE: dict[ErrorMapper, str] = {
    envelopes.pushy_errors: SEND,
    envelopes.account_subscribe_errors: SUBSCRIBE,
    envelopes.account_unsubscribe_errors: SUBSCRIBE,
    envelopes.imkit_errors: SUBSCRIBE,
    envelopes.notiflows_errors: SUBSCRIBE,
}


def http_resolver(errors: ErrorMapper) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    group = LIMIT_GROUP_OF_ENVELOPE[errors]  # a new surface must choose its group here

    @app.exception_handler(Exception)
    def _to_envelope(error: Exception):  # noqa: ANN202 - Powertools inspects the registration only
        return errors(error, app.current_event.raw_event)

    def count_as_group(resolver: APIGatewayHttpResolver, next_middleware) -> Response:  # noqa: ANN001 - Powertools' middleware signature
        with counted_as(group):
            return next_middleware(resolver)

    app.use(middlewares=[count_as_group])
    return app


def http_entry(app: APIGatewayHttpResolver):  # noqa: ANN201 - returns the Lambda entry point
    """The Lambda entry point of an HTTP function: observability around one resolve() call."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict, context: object) -> dict:
        return app.resolve(event, context)

    return lambda_handler
