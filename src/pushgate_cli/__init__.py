"""The operator CLI `pushgate` (CONTRACT §0): create apps, sessions and development user tokens on
the local stack (§8) or on a deployed stack."""
