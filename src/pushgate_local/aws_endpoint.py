"""The embedded AWS-compatible endpoint: moto's server app behind werkzeug on 127.0.0.1.

Everything (the functions, the operator CLI, the local stack itself) reaches it over real HTTP
through AWS_ENDPOINT_URL, exactly as boto3 reaches AWS. Each request can be observed on its way
in (`on_request`), which is how persistence learns that data changed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from pushgate_local import moto_queries, moto_transactions
from pushgate_local.config import HOST, SHUTDOWN_POLL_SECONDS
from pushgate_local.intrinsics import REGION

# moto accepts any credentials; these are what every local client and function uses.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

RequestObserver = Callable[[dict[str, Any]], None]


class _QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One access-log line per SDK call would drown the functions' own logs."""


class AwsEndpoint:
    def __init__(self, port: int, on_request: RequestObserver | None = None) -> None:
        self._port = port
        self._on_request = on_request
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        moto_transactions.install()  # transactions in time independent of the table's size
        moto_queries.install()  # a Query reads its partition, not the whole table sorted
        moto_app = DomainDispatcherApplication(create_backend_app)

        def observed_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if self._on_request is not None:
                self._on_request(environ)
            return moto_app(environ, start_response)

        self._server = make_server(HOST, self._port, observed_app, threaded=True, request_handler=_QuietRequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="aws-endpoint", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self, service: str) -> Any:
        """A boto3 client on this endpoint that ignores whatever AWS configuration the host has."""
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        return session.client(service, endpoint_url=self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
