"""The Hypothesis settings of the property tests: a modest, derandomized budget in `make test`, the
`make fuzz` budget (PUSHGATE_FUZZ_EXAMPLES, random) on demand. The example database is off, so a
run depends only on its budget."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

ON_DEMAND = "PUSHGATE_FUZZ_EXAMPLES" in os.environ


def property_settings(examples: int) -> settings:
    """`examples` in make test; PUSHGATE_FUZZ_EXAMPLES of random examples under make fuzz."""
    return settings(
        max_examples=int(os.environ["PUSHGATE_FUZZ_EXAMPLES"]) if ON_DEMAND else examples,
        deadline=None,
        database=None,
        derandomize=not ON_DEMAND,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )
