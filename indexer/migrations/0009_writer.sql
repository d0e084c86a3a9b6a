-- minuto-indexer schema, version 9: one writer among several indexers sharing the
-- database. The same SQL runs on SQLite and on PostgreSQL.
--
-- One row. `holder` is the instance that ingests and delivers webhooks (`token`: which
-- process of that name), until `until`
-- (unix milliseconds, the holder's clock); it renews the lease and, with it, publishes
-- how far it has read (`head`, `next_block`, `caught_up`, `reorgs`, `undecodable`), which
-- the other instances serve in `/readyz`. Every write of ingested rows checks, last in its
-- own transaction, that its process still holds the lease (a writer that lost it writes
-- nothing). `rewinds` counts the rewinds written (`rewound_from` the latest one's first
-- block), in the transaction of the rewind, and `rewind` lists each (its number and first
-- block): every instance's notification streams read them to move back, to the earliest
-- block of the rewinds they have not seen yet.
CREATE TABLE writer (
    id BIGINT PRIMARY KEY,
    holder TEXT NOT NULL,
    token TEXT NOT NULL,
    until BIGINT NOT NULL,
    head BIGINT NOT NULL,
    next_block BIGINT NOT NULL,
    caught_up BIGINT NOT NULL,
    reorgs BIGINT NOT NULL,
    undecodable BIGINT NOT NULL,
    rewinds BIGINT NOT NULL,
    rewound_from BIGINT NOT NULL
);
INSERT INTO writer (id, holder, token, until, head, next_block, caught_up, reorgs, undecodable, rewinds, rewound_from)
VALUES (1, '', '', 0, 0, 0, 0, 0, 0, 0, 0);

CREATE TABLE rewind (
    n BIGINT PRIMARY KEY,
    from_block BIGINT NOT NULL
);
