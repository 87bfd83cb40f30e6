"""Logger, Tracer and Metrics shared by every function (service name and namespace from env)."""

from __future__ import annotations

import threading
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Most invocations publish no business metric; Powertools warns on each of those, which is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger()
# X-Ray's patch_all would also patch (so import at every cold start) whatever HTTP libraries are
# installed (requests, httpx, ...), though no function sends with them. The AWS SDK calls are the ones
# worth a subsegment everywhere.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
# Powertools' metric set is a plain dict: code that adds metrics from threads of its own (the
# senders' bookkeeping, the event publisher) takes this one lock.
metrics_lock = threading.Lock()
