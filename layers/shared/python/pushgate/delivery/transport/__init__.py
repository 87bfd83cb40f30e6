"""Transports shared by the senders."""
