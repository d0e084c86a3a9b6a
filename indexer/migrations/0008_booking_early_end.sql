-- minuto-indexer schema, version 8: a tutor's early end of a joined lesson (audit 15, L2).
-- The same SQL runs on SQLite and on PostgreSQL.
--
-- `BookingTutorEndedEarly` is a `booking_change` row in state 'tutor_ended_early' (its
-- session id and reporter as for a tutor no-show); `held` is the seconds the session ran,
-- NULL for every other change. Rows stored before keep NULL.
ALTER TABLE booking_change ADD COLUMN held BIGINT;
