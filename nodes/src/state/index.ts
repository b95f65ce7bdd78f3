/** The node's durable state: one database and a store per concern. */
import { resolve } from "node:path";
import { ArtifactStore } from "./artifact-store.ts";
import { ChainStore } from "./chain-store.ts";
import { NodeDatabase } from "./database.ts";
import { JobStore } from "./job-store.ts";
import { KvStore } from "./kv-store.ts";

export { ArtifactStore, type ArtifactRecord } from "./artifact-store.ts";
export { ChainStore, type BlockRef } from "./chain-store.ts";
export { NodeDatabase, StateError } from "./database.ts";
export { JobStore, JOB_STATUSES, type JobRecord, type JobStatus, type NewJob } from "./job-store.ts";
export { KvStore } from "./kv-store.ts";

export interface NodeState {
  database: NodeDatabase;
  chain: ChainStore;
  jobs: JobStore;
  artifacts: ArtifactStore;
  kv: KvStore;
  close(): void;
}

export const DATABASE_FILE = "node.sqlite";

/** Opens the node's state in `dataDir` (or in memory with ":memory:"). */
export function openState(dataDir: string): NodeState {
  const database = NodeDatabase.open(dataDir === ":memory:" ? dataDir : resolve(dataDir, DATABASE_FILE));
  return {
    database,
    chain: new ChainStore(database),
    jobs: new JobStore(database),
    artifacts: new ArtifactStore(database),
    kv: new KvStore(database),
    close: () => database.close(),
  };
}
