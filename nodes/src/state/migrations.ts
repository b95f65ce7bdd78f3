/**
 * The node database's schema, as an append-only list of migrations: never edit a released one, add the next.
 * Numbers are a job id, block number or amount stored as TEXT when they may exceed 2^63 (uint256 on chain).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: follower checkpoint, block hashes for reorg checks, delivered events, jobs, artifacts, key/value.
  `
  CREATE TABLE chain_cursor (
    name TEXT PRIMARY KEY,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL
  );
  CREATE TABLE chain_blocks (
    name TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    PRIMARY KEY (name, block_number)
  );
  CREATE TABLE chain_events (
    name TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    log_index INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    contract TEXT NOT NULL,
    event_name TEXT NOT NULL,
    PRIMARY KEY (name, tx_hash, log_index)
  );
  CREATE INDEX chain_events_block ON chain_events (name, block_number);
  CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    phase TEXT,
    requester TEXT NOT NULL,
    datanet_id TEXT NOT NULL,
    datanet_version INTEGER NOT NULL,
    base_model_id TEXT NOT NULL,
    hyper_params_cid TEXT NOT NULL,
    fee TEXT NOT NULL,
    deadline INTEGER NOT NULL,
    created_block INTEGER NOT NULL,
    created_tx TEXT NOT NULL,
    lease_expires_at INTEGER,
    claim_tx TEXT,
    submit_tx TEXT,
    model_id TEXT,
    outputs TEXT NOT NULL DEFAULT '{}',
    reason TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX jobs_status ON jobs (status);
  CREATE TABLE artifacts (
    cid TEXT NOT NULL,
    kind TEXT NOT NULL,
    job_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (cid, kind)
  );
  CREATE INDEX artifacts_job ON artifacts (job_id);
  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: the held training fee of a submitted result: when it is payable, whether it was released or disputed.
  `
  ALTER TABLE jobs ADD COLUMN payment TEXT;
  ALTER TABLE jobs ADD COLUMN payable_at INTEGER;
  ALTER TABLE jobs ADD COLUMN release_tx TEXT;
  CREATE INDEX jobs_payment ON jobs (payment);
  `,
];
