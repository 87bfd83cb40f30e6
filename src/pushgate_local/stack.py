"""The whole local stack of docs/api.md §8, started and stopped in the right order.

Start: the AWS endpoint, the template's tables and queues, the snapshot restored, the functions
ready to run, the demo app; then serve: the HTTP API, the WebSocket API, the SQS pollers and the
template's schedules (`schedules.py`). Stop: the
reverse (WebSocket connections closed, their $disconnect run, while the functions still run), ending
with a final snapshot while the endpoint still answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pushgate.config import Settings
from pushgate.secret_store import SsmSecretStore
from pushgate.services.provider_channels import ProviderChannelService
from pushgate.wiring import build_services

from pushgate_local import bootstrap
from pushgate_local.aws_endpoint import AwsEndpoint
from pushgate_local.config import HOST, LocalConfig, free_port
from pushgate_local.cors import CorsPolicy
from pushgate_local.event_sources import EventSources
from pushgate_local.http_gateway import HttpGateway
from pushgate_local.http_routing import RouteTable
from pushgate_local.intrinsics import StackContext, stack_parameters
from pushgate_local.lambda_runtime import LambdaRuntime, deployment_from_template
from pushgate_local.local_events import LocalEvents
from pushgate_local.persistence import SNAPSHOT_FILE, LocalData, Snapshotter, is_persisted_write, read_snapshot
from pushgate_local.providers import ChannelKeys, FakeProviders, demo_keys, ensure_demo_channels
from pushgate_local.provisioning import create_queues, create_tables
from pushgate_local.schedules import Schedules, schedule_event_sources
from pushgate_local.template import (
    UnsupportedTemplate,
    functions,
    globals_environment,
    http_api_cors,
    http_routes,
    load_template,
    sqs_event_sources,
    websocket_apis,
)
from pushgate_local.websocket_gateway import WebSocketApi, WebSocketGateway


@dataclass(frozen=True)
class Started:
    """What a start produced, for the banner."""

    demo: bootstrap.DemoApp
    session_id: str
    session_expires_at: int
    restored: dict[str, int] | None
    demo_channels: dict[str, str]  # provider -> channel id of the demo app's fcm and apns channels


class LocalStack:
    def __init__(self, config: LocalConfig, template: dict[str, Any] | None = None) -> None:
        self.config = config
        self.template = template or load_template()
        self._snapshotter: Snapshotter | None = None
        self._endpoint: AwsEndpoint | None = None
        self._runtime: LambdaRuntime | None = None
        self._gateway: HttpGateway | None = None
        self._ws_gateway: WebSocketGateway | None = None
        self._event_sources: EventSources | None = None
        self.schedules: Schedules | None = None
        self.providers: FakeProviders | None = None
        self.context: StackContext | None = None
        self.events = LocalEvents()  # the template's event buses and what was put on them
        self.settings: Settings | None = None
        # Only used if the template has no WebSocket API: 0 still means "a free port", told to clients.
        self._ws_port = config.ws_port or free_port()

    @property
    def snapshot_path(self) -> Path:
        return self.config.data_dir / SNAPSHOT_FILE

    def _observe_endpoint_request(self, environ: dict[str, Any]) -> None:
        # Before the snapshotter exists the only writes are the restore's own: nothing to save.
        if self._snapshotter is not None and is_persisted_write(environ):
            self._snapshotter.mark_dirty()

    def start(self) -> Started:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._endpoint = AwsEndpoint(self.config.aws_port, on_request=self._observe_endpoint_request)
        self._endpoint.start()
        # The fake providers first: their URLs and CA are part of the deployment's parameters.
        self.providers = FakeProviders(self.config.data_dir, self.config.fake_fcm_port, self.config.fake_apns_port)
        self.providers.start()
        parameters = stack_parameters(self.template, {**self.config.parameter_overrides(), **self.providers.parameter_overrides()})
        self.context = context = StackContext(self.template, parameters, self._endpoint.url)
        # The functions' own settings (table name, SSM prefix), read from the template as they read them.
        self.settings = Settings.from_env(context.environment(globals_environment(self.template)))

        # Workers start on first use; the HTTP port is bound now, so a busy port fails fast.
        specs = functions(self.template).values()
        deployments = {spec.logical_id: deployment_from_template(spec, context) for spec in specs}
        self._runtime = LambdaRuntime(deployments)
        self._gateway = HttpGateway(
            self.config.http_port,
            RouteTable(http_routes(self.template)),
            self._runtime.invoke,
            self.discovery,
            CorsPolicy.from_config(http_api_cors(self.template)),
            local_events=self.events,
        )
        ws_apis = websocket_apis(self.template)
        if len(ws_apis) > 1:
            raise UnsupportedTemplate("the local stack serves one WebSocket API; the template has several")
        if ws_apis:
            self._ws_gateway = WebSocketGateway(
                self.config.ws_port, WebSocketApi.from_spec(ws_apis[0], context), self._runtime.invoke
            )

        dynamodb, ssm = self._endpoint.client("dynamodb"), self._endpoint.client("ssm")
        tables = create_tables(context, dynamodb)
        create_queues(context, self._endpoint.client("sqs"))
        self.events.provision(context, self._endpoint.client("events"), self._endpoint.client("sqs"))
        local_data = LocalData(dynamodb, ssm, tables)
        snapshot = read_snapshot(self.snapshot_path)
        restored = local_data.restore(snapshot) if snapshot else None
        self._snapshotter = Snapshotter(self.snapshot_path, local_data.capture)
        self._snapshotter.start()

        # The demo app exists before the HTTP API answers: whoever waits for the port finds it.
        services = build_services(self.settings, dynamodb)
        demo = bootstrap.ensure_demo_app(services, services.apps(ssm), self.config.data_dir)
        keys = demo_keys(self.config.data_dir)
        self.providers.know(keys)
        self.providers.learn_from(ChannelKeys(dynamodb, ssm, self.settings.table_name, self.providers))
        provider_channels = ProviderChannelService(services.repository, SsmSecretStore(ssm), self.settings.ssm_prefix)
        demo_channels = ensure_demo_channels(provider_channels, demo.app.app_id, keys)
        session_id, session = services.sessions.create(demo.app, bootstrap.DEMO_USER)
        self._snapshotter.flush()  # the demo app is on disk even if the stack is killed right away
        sources = sqs_event_sources(self.template)
        self._event_sources = EventSources(sources, context, self._endpoint.client("sqs"), self._runtime.invoke)
        self.schedules = Schedules(schedule_event_sources(self.template), context, self._runtime.invoke)
        self._gateway.local_routes.append(self.schedules.respond)
        return Started(demo, session_id, session.expires_at, restored, demo_channels)

    def serve(self) -> None:
        """Open the WebSocket and HTTP APIs and start polling queues (after start(), once its output is
        shown: whoever waits for the HTTP port finds the instructions printed, and the WebSocket API
        already answering)."""
        assert self._gateway is not None and self._event_sources is not None, "start() first"
        if self._ws_gateway is not None:
            self._ws_gateway.start()
        self._gateway.start()
        self._event_sources.start()
        if self.schedules is not None:
            self.schedules.start()

    def discovery(self) -> dict[str, Any]:
        """What GET /_pushgate/local answers: how to reach every part of the stack."""
        assert self._endpoint and self._gateway and self.context and self.settings and self.providers
        return {
            # GET <url>/_fake/received lists what each fake provider accepted.
            "fake_fcm_url": self.providers.fcm_url,
            "fake_apns_url": self.providers.apns_url,
            "aws_endpoint_url": self._endpoint.url,
            "region": self.context.region,
            "table_name": self.settings.table_name,
            "ssm_prefix": self.settings.ssm_prefix,
            "http_url": self._gateway.url,
            "ws_url": self._ws_gateway.url if self._ws_gateway is not None else f"ws://{HOST}:{self._ws_port}",
            # What `pushgate sweep --now` applies, as the scheduled sweep function does.
            **({"stale_after_days": int(self.context.parameters["StaleAfterDays"])} if "StaleAfterDays" in self.context.parameters else {}),
            # Where `pushgate sweep --now` announces what it expires, as the scheduled function does.
            **({"event_bus_name": self.context.ref("PushgateEvents")} if "PushgateEvents" in self.context.template.get("Resources", {}) else {}),
        }

    def stop(self) -> None:
        """Safe to call at any point of a failed start."""
        if self._ws_gateway is not None:
            self._ws_gateway.stop()  # $disconnect for every open connection, while the workers run
        if self._gateway is not None:
            self._gateway.stop()
        if self._event_sources is not None:
            self._event_sources.request_stop()
        if self.schedules is not None:
            self.schedules.stop()
        if self._runtime is not None:
            self._runtime.close()  # also ends invocations in progress, so pollers return promptly
        if self._event_sources is not None:
            self._event_sources.stop()
        if self.providers is not None:
            self.providers.stop()
        if self._snapshotter is not None:
            self._snapshotter.stop()  # the final snapshot, while the endpoint still answers
        if self._endpoint is not None:
            self._endpoint.stop()
