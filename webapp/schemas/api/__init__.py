"""The declared request bodies and responses of /api/v1, one module per area."""
