-- minuto-indexer schema, version 7: series funded lesson by lesson. The same SQL runs on
-- SQLite and on PostgreSQL.
--
-- `BookingFundingDue` (`kind` 'due', `fund_by` the deadline, `amount` NULL) and
-- `BookingFunded` (`kind` 'funded', `fund_by` NULL, `amount` the deposit pulled in, decimal
-- TEXT). Like every event table: keyed by the log's place, deleted by a rewind from the
-- first replaced block on, nothing updated in place. A booking with a 'due' row and no
-- 'funded' row is unfunded (its `BookingRequested.deposit` is what it will hold); a rewind
-- that drops the 'funded' row makes it unfunded again.
CREATE TABLE booking_funding (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    fund_by BIGINT,
    amount TEXT,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX booking_funding_id ON booking_funding (id, kind, block, log_index);

-- Version 6's `booking_reminder` gains `kind`: 'lesson' (`booking_reminder`, `minutes`
-- 30 or 5 before the start) or 'funding' (`booking_funding_reminder`, `minutes` 1,440 or
-- 60 before the booking's fundBy), once per booking, kind and offset. The rows fired so
-- far are kept, as 'lesson' ones, at their places.
CREATE TABLE booking_reminder_v7 (
    booking_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (booking_id, kind, minutes)
);
INSERT INTO booking_reminder_v7 (booking_id, kind, minutes, block, log_index, fired_at)
    SELECT booking_id, 'lesson', minutes, block, log_index, fired_at FROM booking_reminder;
DROP TABLE booking_reminder;
ALTER TABLE booking_reminder_v7 RENAME TO booking_reminder;
CREATE UNIQUE INDEX booking_reminder_at ON booking_reminder (block, log_index);
