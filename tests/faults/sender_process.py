"""One Lambda container of the Web Push sender, as a process of its own, for the crash test
(test_sender_crash.py): `python tests/faults/sender_process.py <event.json> <result.json>` imports
functions/webpush_sender/app.py as Lambda does (AWS through AWS_ENDPOINT_URL: a moto server),
runs one invocation with the SQS event in the first file and writes its response to the second.
The test may kill it at any point, as Lambda's runtime dies with its container."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for path in (REPO / "src", REPO / "layers" / "shared" / "python", REPO):
    sys.path.insert(0, str(path))


@dataclass
class Context:
    function_name: str = "webpush-sender"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:webpush-sender"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "crash-test"
    log_group_name: str = "/aws/lambda/webpush-sender"
    log_stream_name: str = "crash-test"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def main(event_path: str, result_path: str) -> None:
    spec = importlib.util.spec_from_file_location("webpush_sender_app", REPO / "functions" / "webpush_sender" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.lambda_handler(json.loads(Path(event_path).read_text()), Context())
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
