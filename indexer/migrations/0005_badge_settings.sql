-- minuto-indexer schema, version 5: the badges contract's settings, for `badge_claimable`
-- notifications. The same SQL runs on SQLite and on PostgreSQL. Like every event table of
-- version 1: keyed by the log's place in the chain (block, log_index), rows from the first
-- replaced block on deleted by a rewind.
--
-- `BadgeMinDurationUpdated` (`setting` 'min_duration', `token` '') and
-- `BadgeMinBilledUpdated` (`setting` 'min_billed', `token` the ERC-20): `value` is the new
-- minimum, decimal TEXT (seconds; base units, 0: the token earns no badges). The setting
-- in force at a place in the chain is the latest row before it.
CREATE TABLE badge_setting (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    setting TEXT NOT NULL,
    token TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX badge_setting_at ON badge_setting (setting, token, block, log_index);
