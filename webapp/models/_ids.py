"""Primary keys are never re-used.

SQLite hands out max(rowid)+1 by default, so deleting the newest row frees its id for the next
insert: a result or job record left behind by a deleted portfolio would then belong to whoever got
the id next. AUTOINCREMENT makes SQLite remember every id it issued (PostgreSQL sequences already
do).
"""

NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
