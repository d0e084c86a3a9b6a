-- minuto-indexer schema, version 6: minuto-booking. The same SQL runs on SQLite and on
-- PostgreSQL. Like every event table of version 1, the first five are keyed by the log's
-- place in the chain (block, log_index) and a rewind deletes their rows from the first
-- replaced block on; nothing is updated in place: a booking's state is its latest row in
-- `booking_change` (none: 'requested'), so a rewind that deletes an `accepted` row leaves
-- the booking 'requested' again, exactly as the chain now has it.

-- `BookingRequested`: one row per booking, with the tutor's policy snapshotted.
CREATE TABLE booking (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    student TEXT NOT NULL,
    tutor TEXT NOT NULL,
    token TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    duration BIGINT NOT NULL,
    rate TEXT NOT NULL,
    deposit TEXT NOT NULL,
    credential_kind BIGINT NOT NULL,
    answer_deadline BIGINT NOT NULL,
    free_notice BIGINT NOT NULL,
    late_cancel_fee_bps BIGINT NOT NULL,
    no_show_fee_bps BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX booking_id ON booking (id);
CREATE INDEX booking_student ON booking (student, start_at, id);
CREATE INDEX booking_tutor ON booking (tutor, start_at, id);
CREATE INDEX booking_start ON booking (start_at);

-- `SeriesRequested`: bookings first_id .. first_id + lessons - 1 are one weekly series.
CREATE TABLE booking_series (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    first_id BIGINT NOT NULL,
    student TEXT NOT NULL,
    tutor TEXT NOT NULL,
    lessons BIGINT NOT NULL,
    interval_seconds BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX booking_series_first ON booking_series (first_id);

-- Every later event of a booking (`state`: accepted, declined, expired, cancelled, joined,
-- student_no_show, tutor_no_show, join_refused) with what it carries: `actor` the address
-- it names ('' for none), amounts as decimal TEXT (NULL where the event has none),
-- `session_id` (joined, tutor_no_show), `reason` (join_refused).
CREATE TABLE booking_change (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    tutor_fee TEXT,
    refund TEXT,
    escrowed TEXT,
    session_id BIGINT,
    reason BIGINT,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX booking_change_id ON booking_change (id, block, log_index);

-- `RateSet` and `PolicySet`: what a tutor publishes now is its latest row.
CREATE TABLE rate_set (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    tutor TEXT NOT NULL,
    token TEXT NOT NULL,
    rate TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX rate_set_tutor ON rate_set (tutor, token, block, log_index);

CREATE TABLE policy_set (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    tutor TEXT NOT NULL,
    free_notice BIGINT NOT NULL,
    late_cancel_fee_bps BIGINT NOT NULL,
    no_show_fee_bps BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX policy_set_tutor ON policy_set (tutor, block, log_index);

-- `booking_reminder` notifications fired (by the indexer's clock, not by a log): one row
-- per booking and offset (`minutes`: 30 or 5), never fired twice. A rewind does not
-- delete them (they were sent). (block, log_index) is their place in the notification
-- streams: `block` the first block not yet stored when it fired, `log_index` negative
-- (-2^40 + a counter per block), so it sorts after every stored log and before the logs
-- of that block.
CREATE TABLE booking_reminder (
    booking_id BIGINT NOT NULL,
    minutes BIGINT NOT NULL,
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (booking_id, minutes)
);
CREATE UNIQUE INDEX booking_reminder_at ON booking_reminder (block, log_index);
