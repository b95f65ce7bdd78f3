/** Artifacts the node produced or holds: a CID, what it is (adapter, evaluation, ...), and the job it belongs to. */
import type { NodeDatabase } from "./database.ts";

export interface ArtifactRecord {
  cid: string;
  kind: string;
  jobId: string | null;
  createdAt: string;
}

export class ArtifactStore {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
  }

  /** Records an artifact; recording the same (cid, kind) again changes nothing. */
  record(artifact: { cid: string; kind: string; jobId?: string | bigint }): void {
    this.#database.db.prepare("INSERT OR IGNORE INTO artifacts (cid, kind, job_id, created_at) VALUES (?, ?, ?, ?)")
      .run(artifact.cid, artifact.kind, artifact.jobId === undefined ? null : String(artifact.jobId), new Date().toISOString());
  }

  forJob(jobId: string | bigint): ArtifactRecord[] {
    return this.#rows(this.#database.db.prepare("SELECT * FROM artifacts WHERE job_id = ? ORDER BY created_at, kind").all(String(jobId)));
  }

  all(): ArtifactRecord[] {
    return this.#rows(this.#database.db.prepare("SELECT * FROM artifacts ORDER BY created_at, kind").all());
  }

  #rows(rows: unknown[]): ArtifactRecord[] {
    return (rows as Array<{ cid: string; kind: string; job_id: string | null; created_at: string }>)
      .map((r) => ({ cid: r.cid, kind: r.kind, jobId: r.job_id, createdAt: r.created_at }));
  }
}
