"""Web Push delivery (RFC 8030/8188/8291/8292): VAPID signing, message encryption, the HTTP
transport and the classification of push-service answers.

Import the submodules directly (`pushgate.delivery.webpush`, ...). Nothing outside the sender
imports this package, so API functions never pay for it at cold start.
"""
