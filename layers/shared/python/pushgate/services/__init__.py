"""Use cases. Each takes its collaborators in its constructor, so tests pass fakes."""
