-- minuto-indexer schema, version 3: minuto-vetting's applications, votes and decisions.
-- The same SQL runs on SQLite and on PostgreSQL. Like every event table of version 1:
-- keyed by the log's place in the chain (block, log_index), rows from the first replaced
-- block on deleted by a rewind. Application and credential ids are decimal TEXT where
-- they are uint256 the index does not order by; application ids (counted up from 1 by the
-- contract) are BIGINT.

-- VettingApplicationOpened (`action`: 1 issue, 2 renew, 3 revoke).
CREATE TABLE vetting_opened (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    tutor TEXT NOT NULL,
    kind BIGINT NOT NULL,
    action BIGINT NOT NULL,
    token_id TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    deadline BIGINT NOT NULL,
    cid TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX vetting_opened_id ON vetting_opened (application_id);
CREATE INDEX vetting_opened_tutor ON vetting_opened (tutor, application_id);

-- VettingVoted.
CREATE TABLE vetting_voted (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    reviewer TEXT NOT NULL,
    approve BIGINT NOT NULL,
    approvals BIGINT NOT NULL,
    rejections BIGINT NOT NULL,
    reason_cid TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX vetting_voted_id ON vetting_voted (application_id);

-- VettingDecided, VettingExpired and VettingSuperseded: how an application was closed
-- (`outcome`: 'approved', 'rejected', 'expired' or 'superseded'). `token_id`: the
-- decision's credential (0 otherwise); `revocation_id`: the superseding revocation (0
-- otherwise).
CREATE TABLE vetting_closed (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    token_id TEXT NOT NULL,
    revocation_id TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX vetting_closed_id ON vetting_closed (application_id);
CREATE INDEX vetting_closed_outcome ON vetting_closed (outcome);
