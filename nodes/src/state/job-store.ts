/**
 * Training jobs as this node sees them. `status` is where the job stands for this node; `phase` is the last
 * pipeline phase completed (with its output kept in `outputs`), so a restart resumes after it.
 */
import type { NodeDatabase } from "./database.ts";

export const JOB_STATUSES = ["discovered", "skipped", "claiming", "running", "completed", "failed", "lost"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * The fee of this node's submitted result: `held` by the ModelRegistry until `payableAt`, then `released` to the
 * node (by this node or anyone), or `disputed` by the requester (the arbiter decides; the node leaves it alone).
 */
export const PAYMENT_STATUSES = ["held", "released", "disputed"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface JobRecord {
  jobId: bigint;
  status: JobStatus;
  phase: string | null;
  requester: string;
  datanetId: bigint;
  datanetVersion: number;
  baseModelId: bigint;
  hyperParamsCid: string;
  fee: bigint;
  deadline: bigint;
  createdBlock: bigint;
  createdTx: string;
  leaseExpiresAt: bigint | null;
  claimTx: string | null;
  submitTx: string | null;
  modelId: bigint | null;
  /** Output of each completed phase, by phase name (JSON values). */
  outputs: Record<string, unknown>;
  reason: string | null;
  /** null until this node's result is on-chain. */
  payment: PaymentStatus | null;
  /** Chain time (seconds) from which the held fee can be released. */
  payableAt: bigint | null;
  releaseTx: string | null;
  updatedAt: string;
}

export type NewJob = Pick<JobRecord, "jobId" | "requester" | "datanetId" | "datanetVersion" | "baseModelId" | "hyperParamsCid" | "fee" | "deadline" | "createdBlock" | "createdTx">;

interface JobRow {
  job_id: string; status: JobStatus; phase: string | null; requester: string; datanet_id: string; datanet_version: number;
  base_model_id: string; hyper_params_cid: string; fee: string; deadline: number; created_block: number; created_tx: string;
  lease_expires_at: number | null; claim_tx: string | null; submit_tx: string | null; model_id: string | null;
  outputs: string; reason: string | null; payment: PaymentStatus | null; payable_at: number | null; release_tx: string | null; updated_at: string;
}

function fromRow(r: JobRow): JobRecord {
  return {
    jobId: BigInt(r.job_id), status: r.status, phase: r.phase, requester: r.requester, datanetId: BigInt(r.datanet_id),
    datanetVersion: r.datanet_version, baseModelId: BigInt(r.base_model_id), hyperParamsCid: r.hyper_params_cid,
    fee: BigInt(r.fee), deadline: BigInt(r.deadline), createdBlock: BigInt(r.created_block), createdTx: r.created_tx,
    leaseExpiresAt: r.lease_expires_at === null ? null : BigInt(r.lease_expires_at), claimTx: r.claim_tx, submitTx: r.submit_tx,
    modelId: r.model_id === null ? null : BigInt(r.model_id), outputs: JSON.parse(r.outputs) as Record<string, unknown>,
    reason: r.reason, payment: r.payment, payableAt: r.payable_at === null ? null : BigInt(r.payable_at), releaseTx: r.release_tx, updatedAt: r.updated_at,
  };
}

export class JobStore {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
  }

  /** Records a newly seen job; a job already known is left as it is (events may be delivered again). */
  insert(job: NewJob): boolean {
    const result = this.#database.db.prepare(
      `INSERT OR IGNORE INTO jobs (job_id, status, requester, datanet_id, datanet_version, base_model_id, hyper_params_cid, fee,
        deadline, created_block, created_tx, updated_at) VALUES (?, 'discovered', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(String(job.jobId), job.requester, String(job.datanetId), job.datanetVersion, String(job.baseModelId), job.hyperParamsCid,
      String(job.fee), job.deadline, job.createdBlock, job.createdTx, new Date().toISOString());
    return Number(result.changes) > 0;
  }

  get(jobId: bigint): JobRecord | undefined {
    const row = this.#database.db.prepare("SELECT * FROM jobs WHERE job_id = ?").get(String(jobId)) as JobRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  list(statuses?: readonly JobStatus[]): JobRecord[] {
    const rows = (statuses === undefined
      ? this.#database.db.prepare("SELECT * FROM jobs").all()
      : this.#database.db.prepare(`SELECT * FROM jobs WHERE status IN (${statuses.map(() => "?").join(", ")})`).all(...statuses)) as unknown as JobRow[];
    return rows.map(fromRow).sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  }

  /** Updates the given columns of a job. */
  update(jobId: bigint, changes: Partial<Pick<JobRecord, "status" | "phase" | "leaseExpiresAt" | "claimTx" | "submitTx" | "modelId" | "reason" | "payment" | "payableAt" | "releaseTx">>): void {
    const columns: Record<string, string> = {
      status: "status", phase: "phase", leaseExpiresAt: "lease_expires_at", claimTx: "claim_tx", submitTx: "submit_tx", modelId: "model_id", reason: "reason",
      payment: "payment", payableAt: "payable_at", releaseTx: "release_tx",
    };
    const sets: string[] = [];
    const values: Array<string | number | bigint | null> = [];
    for (const [key, value] of Object.entries(changes)) {
      sets.push(`${columns[key]} = ?`);
      values.push(value === null || value === undefined ? null : typeof value === "bigint" && key === "modelId" ? String(value) : (value as string | bigint));
    }
    sets.push("updated_at = ?");
    values.push(new Date().toISOString());
    this.#database.db.prepare(`UPDATE jobs SET ${sets.join(", ")} WHERE job_id = ?`).run(...values, String(jobId));
  }

  /** Records that `phase` completed with `output`, in one step: a crash leaves the job before or after it. */
  completePhase(jobId: bigint, phase: string, output: unknown): void {
    this.#database.transaction(() => {
      const job = this.get(jobId);
      if (job === undefined) throw new Error(`job ${jobId} is not recorded`);
      const outputs = { ...job.outputs, [phase]: output ?? null };
      this.#database.db.prepare("UPDATE jobs SET phase = ?, outputs = ?, updated_at = ? WHERE job_id = ?")
        .run(phase, JSON.stringify(outputs, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)), new Date().toISOString(), String(jobId));
    });
  }

  /** Completed jobs whose fee is still held, for the runner to release once payable. */
  heldPayments(): JobRecord[] {
    return this.list(["completed"]).filter((job) => job.payment === "held");
  }

  /** Job counts by (status, phase), for metrics and `status`. */
  counts(): Array<{ status: JobStatus; phase: string | null; count: number }> {
    return (this.#database.db.prepare("SELECT status, phase, COUNT(*) AS count FROM jobs GROUP BY status, phase").all() as Array<{ status: JobStatus; phase: string | null; count: number }>)
      .map((r) => ({ status: r.status, phase: r.phase, count: Number(r.count) }));
  }
}
