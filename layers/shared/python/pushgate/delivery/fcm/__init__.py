"""FCM HTTP v1: the message a push becomes (`message`), the service account's OAuth access
tokens (`oauth`) and the sender's transport (`transport`).

Import the submodules directly. `message` is pure and imports no HTTP client: POST /push uses
it to refuse, up front, a push that FCM could never accept."""
