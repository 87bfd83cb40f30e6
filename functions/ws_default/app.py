"""WebSocket $default (docs/api.md §1): unknown commands and messages that are not JSON."""

from pushgate.websocket import default_entry

lambda_handler = default_entry()
