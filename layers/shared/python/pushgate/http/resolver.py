"""An HTTP API resolver whose every error, expected or not, leaves in one surface's envelope."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from pushgate.http.envelopes import ErrorMapper
from pushgate.observability import logger, metrics, tracer


def http_resolver(errors: ErrorMapper) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    @app.exception_handler(Exception)
    def _to_envelope(error: Exception):  # noqa: ANN202 - Powertools inspects the registration only
        return errors(error, app.current_event.raw_event)

    return app


def http_entry(app: APIGatewayHttpResolver):  # noqa: ANN201 - returns the Lambda entry point
    """The Lambda entry point of an HTTP function: observability around one resolve() call."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict, context: object) -> dict:
        return app.resolve(event, context)

    return lambda_handler
