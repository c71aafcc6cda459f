"""Market-data providers behind one interface, and the insert-only sync."""
