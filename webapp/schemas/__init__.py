"""Declared models of what endpoints take: one per endpoint, shared by page, partial and API."""
