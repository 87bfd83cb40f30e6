"""Development user JWTs (docs/api.md §0): RS256, signed with the app's development key, with the
claims the verifier requires (`sub`, `exp`) plus `iat`."""

from __future__ import annotations

import jwt

from pushgate.credentials import JWT_LEEWAY_SECONDS

DEFAULT_TOKEN_TTL = 3600
# The verifier accepts a token up to 60 s past `exp`, so a shorter life would only mislead.
MIN_TOKEN_TTL = JWT_LEEWAY_SECONDS
MAX_TOKEN_TTL = 30 * 86_400


def mint_user_token(private_key_pem: str, user_id: str, ttl: int, now: float) -> str:
    issued_at = int(now)
    claims = {"sub": user_id, "iat": issued_at, "exp": issued_at + ttl}
    return jwt.encode(claims, private_key_pem, algorithm="RS256")
