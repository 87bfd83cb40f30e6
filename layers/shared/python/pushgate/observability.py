"""Logger, Tracer and Metrics shared by every function (service name and namespace from env), and
the per-app business counts that are written with the metrics at the end of each invocation."""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

# Most invocations publish no business metric; Powertools warns on each of those, which is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

APP_DIMENSION = "app"
# The one value every app not listed in MetricsApps shares. App ids are "app_<hex>", so no app
# can be called this.
OTHER_APPS = "other"

DimensionSet = tuple[tuple[str, str], ...]


class AppMetrics:
    """Counts with an `app` dimension (docs/operating.md, Metrics). Only the apps the deployment
    lists (template.yaml's MetricsApps) get a value of their own; every other app is counted
    under app=other. CloudWatch bills each metric name and dimension value pair as a custom
    metric, so the bill cannot grow with the number of tenants, and the buckets still add up to
    the whole.

    Counts are summed for the invocation and written at its end as one EMF line per dimension set
    (in practice one per app bucket), not one per call: a sender invocation of five batches of
    one app adds a single line. Safe to add to from several threads (the senders' batches).

    Counts belong to an invocation (`invocation()`, which FunctionMetrics.log_metrics opens around
    every handler): outside of one (the CLI, a script, a test's setup) nothing would ever write
    them, and they are not kept."""

    def __init__(self, tracked_apps: Iterable[str] = ()) -> None:
        self._tracked = frozenset(tracked_apps)
        self._lock = threading.Lock()
        self._counts: defaultdict[DimensionSet, Counter[str]] = defaultdict(Counter)
        self._invocations = 0

    def track(self, app_ids: Iterable[str]) -> None:
        """The apps that get a dimension value of their own (Settings.metrics_apps)."""
        self._tracked = frozenset(app_ids)

    @property
    def tracked(self) -> frozenset[str]:
        return self._tracked

    def bucket(self, app_id: str) -> str:
        return app_id if app_id in self._tracked else OTHER_APPS

    def add(self, app_id: str, name: str, value: int = 1, **dimensions: str) -> None:
        """Count `value` of metric `name` for the app, with any further fixed dimensions (a
        sender's provider). A zero is not written: it would only lengthen the line."""
        if not value:
            return
        key = tuple(sorted({**dimensions, APP_DIMENSION: self.bucket(app_id)}.items()))
        with self._lock:
            if self._invocations:
                self._counts[key][name] += value

    @contextmanager
    def invocation(self) -> Iterator[None]:
        """Count what runs inside, and write it when it ends, however it ends."""
        with self._lock:
            self._invocations += 1
        try:
            yield
        finally:
            with self._lock:
                self._invocations -= 1
            self.flush()

    def pending(self) -> dict[DimensionSet, dict[str, int]]:
        """What the next flush would write (for tests and the flush itself)."""
        with self._lock:
            return {key: dict(counts) for key, counts in self._counts.items()}

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def flush(self) -> None:
        """Print the invocation's counts as EMF lines (namespace and service dimension from the
        Powertools environment, as the aggregate metrics) and start again from nothing."""
        with self._lock:
            counts, self._counts = self._counts, defaultdict(Counter)
        for dimensions, values in counts.items():
            # A provider of its own, not Metrics(): every Metrics instance shares one metric set.
            document = AmazonCloudWatchEMFProvider(metric_set={}, dimension_set={})
            for name, value in dimensions:
                document.add_dimension(name=name, value=value)
            for name, count in values.items():
                document.add_metric(name=name, unit=MetricUnit.Count, value=count)
            document.flush_metrics()


class FunctionMetrics(Metrics):
    """Powertools' Metrics whose end-of-invocation flush (log_metrics) also writes the per-app
    counts, so every handler already decorated with it writes them without a change."""

    def __init__(self, per_app: AppMetrics) -> None:
        super().__init__()
        self.per_app = per_app

    def log_metrics(self, lambda_handler: Callable[..., Any] | None = None, **options: Any) -> Any:
        if lambda_handler is None:  # used as @metrics.log_metrics(...) with options
            return functools.partial(self.log_metrics, **options)
        flushing = super().log_metrics(lambda_handler, **options)

        @functools.wraps(lambda_handler)
        def counted(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            # Around Powertools' flush: the aggregate line stays the invocation's first.
            with self.per_app.invocation():
                return flushing(event, context, *args, **kwargs)

        return counted

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
        self.per_app.flush()

    def clear_metrics(self) -> None:
        super().clear_metrics()
        self.per_app.clear()


logger = Logger()
# X-Ray's patch_all would also patch (so import at every cold start) whatever HTTP libraries are
# installed (requests, httpx, ...), though no function sends with them. The AWS SDK calls are the ones
# worth a subsegment everywhere.
tracer = Tracer(patch_modules=("botocore",))
# Which apps are tracked is set from the deployment's settings when the services are built
# (pushgate.wiring.build_services).
app_metrics = AppMetrics()
metrics = FunctionMetrics(app_metrics)
# Powertools' metric set is a plain dict: code that adds metrics from threads of its own (the
# senders' bookkeeping, the event publisher) takes this one lock.
metrics_lock = threading.Lock()
