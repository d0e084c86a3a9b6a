-- minuto-indexer schema, version 2: webhook delivery. The same SQL runs on SQLite and on
-- PostgreSQL.
--
-- Per configured endpoint (its `name`) and subscribed address: the place in the chain of
-- the last notification the endpoint answered with a 2xx. Delivery resumes after it. A
-- rewind does not touch it: the notification streams move back on their own.
CREATE TABLE webhook_cursor (
    endpoint TEXT NOT NULL,
    address TEXT NOT NULL,
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    PRIMARY KEY (endpoint, address)
);
