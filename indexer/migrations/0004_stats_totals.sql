-- minuto-indexer schema, version 4: totals for /v1/stats kept at ingest, so a request
-- reads a few hundred rows instead of every ended session. The same SQL runs on SQLite
-- and on PostgreSQL. Both tables are derived from the event tables: the store recomputes
-- a UTC day's rows (by the session's `end_at`) in the transaction of every batch or rewind
-- that touches that day, so a replay or a rewind leaves them exact.

-- Per UTC day (`end_at / 86400`) and token: sessions ended, billed and fee sums (decimal
-- TEXT, summed exactly by the service), stops by an allowed relayer and the sum of their
-- detection delays (block time minus the stop's `at`, seconds). `token` is '' for ended
-- sessions whose SessionOpened is not stored (counted per day, not in any token's volume).
CREATE TABLE stats_daily (
    day BIGINT NOT NULL,
    token TEXT NOT NULL,
    sessions BIGINT NOT NULL,
    billed TEXT NOT NULL,
    fees TEXT NOT NULL,
    relayer_stops BIGINT NOT NULL,
    detection_seconds BIGINT NOT NULL,
    PRIMARY KEY (day, token)
);

-- `end_at - start_at` of every ended session that has its SessionStarted stored: the
-- median is read from the index with OFFSET.
CREATE TABLE session_length (
    id BIGINT PRIMARY KEY,
    seconds BIGINT NOT NULL
);
CREATE INDEX session_length_seconds ON session_length (seconds);

-- A day's ended sessions, for its recomputation.
CREATE INDEX session_ended_end_at ON session_ended (end_at);

-- Rows stored in the event tables /v1/stats counts (`events`, `session_opened`,
-- `session_cancelled`), kept by every write and rewind with the rows.
CREATE TABLE row_counts (
    name TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO row_counts (name, n) SELECT 'events', COUNT(*) FROM events;
INSERT INTO row_counts (name, n) SELECT 'session_opened', COUNT(*) FROM session_opened;
INSERT INTO row_counts (name, n) SELECT 'session_cancelled', COUNT(*) FROM session_cancelled;

-- Days whose rows are still to be computed: every day of the sessions already stored
-- (the store fills both tables from them when it opens the database, then empties this).
CREATE TABLE stats_pending (
    day BIGINT PRIMARY KEY
);
INSERT INTO stats_pending (day) SELECT DISTINCT end_at / 86400 FROM session_ended;
