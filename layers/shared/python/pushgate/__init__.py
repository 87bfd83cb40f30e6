"""pushgate's shared core: models, validation, credentials, the DynamoDB repository and the services.

Nothing here imports pywebpush, batch or idempotency utilities at import time, so that the API
functions pay only for what they use at cold start.
"""
