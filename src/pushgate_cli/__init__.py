"""The operator CLI `pushgate` (docs/api.md §0): create apps, sessions and development user tokens on
the local stack (§8) or on a deployed stack."""
