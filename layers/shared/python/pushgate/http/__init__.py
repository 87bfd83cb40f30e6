"""What the HTTP functions share: request parsing, resolvers, and each surface's error envelope."""
