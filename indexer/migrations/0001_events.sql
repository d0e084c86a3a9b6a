-- minuto-indexer schema, version 1. The same SQL runs on SQLite and on PostgreSQL.
--
-- Every table but `cursor` is append-only and keyed by the log's place in the chain
-- (block, log_index): replaying a range inserts nothing twice (ON CONFLICT DO NOTHING), and
-- a reorganisation's rewind deletes every row from the first replaced block on. Each row
-- keeps its block's hash (a restart compares it with the chain) and timestamp.
-- Addresses and hashes are 0x-prefixed lowercase hex; token amounts are decimal TEXT
-- (up to 2^256 - 1 base units, summed exactly by the service, never as floats).

-- Where ingestion stands: the first block not yet stored, and the hash of the block before it.
CREATE TABLE cursor (
    id BIGINT PRIMARY KEY,
    chain_id BIGINT NOT NULL,
    escrow TEXT NOT NULL,
    next_block BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

-- Every decoded event of every followed contract.
CREATE TABLE events (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    ts BIGINT NOT NULL,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX events_contract_name ON events (contract, name);

-- The escrow.
CREATE TABLE session_opened (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    student TEXT NOT NULL,
    tutor TEXT NOT NULL,
    token TEXT NOT NULL,
    rate TEXT NOT NULL,
    deposit TEXT NOT NULL,
    student_key TEXT NOT NULL,
    credential_kind BIGINT NOT NULL,
    fee_bps BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX session_opened_id ON session_opened (id);
CREATE INDEX session_opened_student ON session_opened (student, id);
CREATE INDEX session_opened_tutor ON session_opened (tutor, id);

CREATE TABLE session_started (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    tutor_key TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX session_started_id ON session_started (id);

CREATE TABLE session_topped_up (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    amount TEXT NOT NULL,
    deposited TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX session_topped_up_id ON session_topped_up (id);

CREATE TABLE withdrawn (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    tutor TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX withdrawn_id ON withdrawn (id);

CREATE TABLE session_ended (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    ended_by TEXT NOT NULL,
    end_at BIGINT NOT NULL,
    billed TEXT NOT NULL,
    tutor_paid TEXT NOT NULL,
    fee TEXT NOT NULL,
    refund TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX session_ended_id ON session_ended (id);
CREATE INDEX session_ended_ts ON session_ended (ts);

CREATE TABLE session_cancelled (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    id BIGINT NOT NULL,
    cancelled_by TEXT NOT NULL,
    refund TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE UNIQUE INDEX session_cancelled_id ON session_cancelled (id);

CREATE TABLE payout_credited (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    token TEXT NOT NULL,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX payout_credited_account ON payout_credited (account);

CREATE TABLE claimed (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    token TEXT NOT NULL,
    account TEXT NOT NULL,
    recipient TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX claimed_account ON claimed (account);

CREATE TABLE relayer_updated (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    relayer TEXT NOT NULL,
    allowed BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);

-- Credentials.
CREATE TABLE credential_issued (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    token_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    kind BIGINT NOT NULL,
    expiry BIGINT NOT NULL,
    uri TEXT NOT NULL,
    issuer TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX credential_issued_holder ON credential_issued (holder);

-- Revoked and burned credentials (`how`: 'revoked' or 'burned').
CREATE TABLE credential_ended (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    token_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    kind BIGINT NOT NULL,
    how TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX credential_ended_token ON credential_ended (token_id);

-- Badges.
CREATE TABLE badge_claimed (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    token_id TEXT NOT NULL,
    session_id BIGINT NOT NULL,
    holder TEXT NOT NULL,
    role BIGINT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX badge_claimed_holder ON badge_claimed (holder);

-- Ratings.
CREATE TABLE rated (
    block BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    session_id BIGINT NOT NULL,
    rater TEXT NOT NULL,
    ratee TEXT NOT NULL,
    rater_role BIGINT NOT NULL,
    score BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    cid TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX rated_ratee ON rated (ratee);
