"""Web Push (RFC 8030/8188/8291/8292): VAPID signing, message encryption, the push headers, the
client that sends a batch, and the sender's transport that signs each batch with its channel's key.
Import the submodules directly; nothing outside the Web Push sender imports them."""
