"""Fan-out consumer (docs/api.md §7): one fan-out message -> delivery batches (and a continuation
for the next page of a topic)."""

from pushgate.wiring import fanout_entry

lambda_handler = fanout_entry()
