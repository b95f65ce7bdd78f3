/**
 * Serving's attribution of a model with a gradient sketch whose gradient part fails: the record is stored (span-only,
 * the error in the response) but marked gradient_pending, so the settlement scheduler never settles it as it is
 * (a watcher would report it `gradient-missing`). Real span index and sqlite; the engine and the sketch are fakes
 * that stand for a worker whose output-gradient call fails (the real path is test/nodes/serve/gradient-attribution.test.ts).
 * The retry of such a record's gradient part, with an injected clock: due only after its backoff, doubling, given up
 * after the last attempt (and tried again when the limit is raised), resumed (not restarted) by a service on the
 * reopened database, one pass at a time; a record of an old database without its tokens is given up at once, and an
 * old database opens with the new columns.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toHex } from "viem";
import { buildSpanIndex, encodeSpanIndex, type GradientSketch } from "../../../nodes/src/attribution/index.ts";
import { DatabaseSync } from "node:sqlite";
import { Registry } from "prom-client";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
import { gradientRetryPass, nextAttemptAt, type GradientRetryPolicy } from "../../../nodes/src/serve/gradient-retry.ts";
import type { ServeMetrics } from "../../../nodes/src/serve/serve-metrics.ts";
import { Counter } from "prom-client";
import type { GradientArtifacts } from "../../../nodes/src/serve/artifacts.ts";
import type { DeployedModel } from "../../../nodes/src/serve/deployed-models.ts";
import { NodeDatabase } from "../../../nodes/src/state/database.ts";
import { ACCOUNTS, randomTokens, seededRandom } from "../attribution/fixtures.ts";

let dir: string;
let database: NodeDatabase;
let model: DeployedModel;
let output: number[];
const root = keccak256(toHex("datanet"));

/** A service whose models all have a sketch, on an engine whose output-gradient call fails. */
class SketchedService extends AttributionService {
  override gradientArtifacts(deployed: DeployedModel): Promise<GradientArtifacts | undefined> {
    return Promise.resolve(deployed.adapterCid === "bafysketched" ? { sketch: { provenance: {} } as GradientSketch, checkpoints: [] } : undefined);
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "attribution-service-"));
  database = NodeDatabase.open(join(dir, "node.sqlite"));
  const random = seededRandom(5);
  const documents = [1n, 2n, 3n].map((contributionId) => ({ contributionId, tokens: Int32Array.from(randomTokens(random, 80, 240)) }));
  await writeFile(join(dir, "index.bin"), encodeSpanIndex(buildSpanIndex(root, documents)));
  output = Array.from(documents[1].tokens.subarray(10, 30));
  model = {
    name: "tributary:1", modelId: 1n, baseModelId: 1n, baseModelName: "tiny", engineModel: "base", adapterId: "a", base: {} as DeployedModel["base"],
    datanet: { id: 1n, version: 1, root }, adapterCid: "bafysketched", attributionIndexCid: "bafyindex", spanIndexPath: join(dir, "index.bin"), owner: ACCOUNTS[0],
  };
});
after(async () => {
  database?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("serving a model with a gradient sketch", () => {
  it("a record whose gradient part failed is stored span-only, reported, and marked gradient_pending; a span-only model's is not", async () => {
    const engine = { outputGradients: async () => { throw new Error("worker gone"); } };
    const service = new SketchedService({ database, engine });
    const payment = { payer: ACCOUNTS[1], signer: ACCOUNTS[1], cumulative_amount: "100", charged: "100", terms_version: "1" };
    const decode = async (ids: readonly number[]) => ids.join(" ");
    const failed = await service.attribute({ requestId: "req-1", model, outputTokens: output, promptTokens: [1, 2, 3], payment, decode });
    assert.deepEqual(failed.field.gradient, {
      error: "the output's gradient could not be computed: worker gone", next_attempt_at: (failed.field.gradient as { next_attempt_at: string }).next_attempt_at,
    });
    assert.ok(Date.parse((failed.field.gradient as { next_attempt_at: string }).next_attempt_at) > Date.now(), "the response says when it is tried again");
    const stored = service.record("req-1")!;
    assert.equal(stored.record.evidence.gradient, null);
    assert.ok(stored.record.weights.length > 0, "the span half is still there");
    assert.equal(stored.gradientPending, true);

    await service.attribute({ requestId: "req-2", model: { ...model, adapterCid: "bafyspanonly" }, outputTokens: output, promptTokens: [1, 2, 3], payment, decode });
    assert.equal(service.record("req-2")!.gradientPending, false);
    // Databases made before the column get it, defaulting to settleable.
    new SketchedService({ database, engine });
    assert.equal(service.record("req-2")!.gradientPending, false);
  });

  it("retries a failed gradient part with backoff, gives up after the last attempt, and a restarted service resumes the schedule", async () => {
    const file = join(dir, "retry.sqlite");
    let now = Date.parse("2026-12-01T00:00:00Z");
    const t0 = now;
    const clock = () => now;
    const policy: GradientRetryPolicy = { maxAttempts: 4, backoffMs: 60_000, maxBackoffMs: 100_000 };
    const calls: { prompt: number[]; output: number[] }[] = [];
    const engine = {
      outputGradients: async (request: { prompt: number[]; output: number[] }) => {
        calls.push({ prompt: request.prompt, output: request.output });
        throw new Error("worker gone");
      },
    } as unknown as ConstructorParameters<typeof AttributionService>[0]["engine"];
    const served = (id: string) => (id === "1" ? model : undefined);
    const payment = { payer: ACCOUNTS[1], signer: ACCOUNTS[1], cumulative_amount: "100", charged: "100", terms_version: "1" };
    const decode = async (ids: readonly number[]) => ids.join(" ");

    let db = NodeDatabase.open(file);
    let service = new SketchedService({ database: db, engine, gradientRetry: policy, now: clock });
    const first = await service.attribute({ requestId: "req-r", model, outputTokens: output, promptTokens: [1, 2, 3], payment, decode });
    assert.equal((first.field.gradient as { next_attempt_at: string }).next_attempt_at, new Date(t0 + 60_000).toISOString());
    assert.deepEqual(service.record("req-r")!.gradientRetry, { attempts: 1, error: "the output's gradient could not be computed: worker gone", nextAttemptAt: new Date(t0 + 60_000).toISOString() });
    assert.equal(calls.length, 1);

    now = t0 + 59_999;
    assert.deepEqual(await service.retryPendingGradients(served), { completed: [], failed: [], givenUp: [] }, "not due before its backoff");
    assert.equal(calls.length, 1);
    now = t0 + 60_000;
    // Two passes asked for at once share one: the record is tried once.
    const [a, b] = await Promise.all([service.retryPendingGradients(served), service.retryPendingGradients(served)]);
    assert.equal(a, b);
    assert.deepEqual(a.failed, [{ recordId: "req-r", attempts: 2, error: "the output's gradient could not be computed: worker gone", nextAttemptAt: t0 + 60_000 + 100_000 }], "doubled, capped at maxBackoffMs");
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1], { prompt: [1, 2, 3], output }, "the stored prompt and output tokens, by the same path");
    assert.equal(nextAttemptAt(policy, 1, 0), 60_000);
    assert.equal(nextAttemptAt(policy, 2, 0), 100_000);
    assert.equal(nextAttemptAt(policy, 4, 0), null);

    // A restart: a new service over the reopened database resumes at attempt 3, at the time the last pass set.
    db.close();
    db = NodeDatabase.open(file);
    service = new SketchedService({ database: db, engine, gradientRetry: policy, now: clock });
    assert.equal(service.record("req-r")!.gradientRetry!.attempts, 2);
    now = t0 + 160_000 - 1;
    assert.deepEqual((await service.retryPendingGradients(served)).failed, []);
    now = t0 + 160_000;
    assert.equal((await service.retryPendingGradients(served)).failed[0].attempts, 3);
    assert.equal(calls.length, 3);

    // The model is no longer served: a failed attempt too, and the last one: given up, logged and counted.
    now += 100_000;
    const registry = new Registry();
    const metrics = {
      gradientCompleted: new Counter({ name: "completed_total", help: "-", registers: [registry] }),
      gradientGivenUp: new Counter({ name: "given_up_total", help: "-", registers: [registry] }),
    } as Pick<ServeMetrics, "gradientCompleted" | "gradientGivenUp">;
    const logged: { level: string; details: object; message: string }[] = [];
    const log = (level: string) => (details: object, message: string) => { logged.push({ level, details, message }); };
    const pass = gradientRetryPass({ attribution: service, models: { resolve: () => undefined }, metrics, logger: { info: log("info"), warn: log("warn"), error: log("error") } });
    const givenUp = await pass();
    const error = "model 1 is not served by this node (serve.models), so its gradient part cannot be computed here";
    assert.deepEqual(givenUp.givenUp, [{ recordId: "req-r", attempts: 4, error }]);
    assert.equal(calls.length, 3);
    assert.deepEqual(logged.map((l) => [l.level, l.details]), [["error", { records: [{ id: "req-r", attempts: 4, error }] }]]);
    assert.match(logged[0].message, /gave up .* raise settle.gradientMaxAttempts/);
    assert.equal((await metrics.gradientGivenUp.get()).values[0].value, 1);
    assert.deepEqual(service.record("req-r")!.gradientRetry, { attempts: 4, error, nextAttemptAt: null });
    assert.equal(service.record("req-r")!.gradientPending, true, "it stays held out of settlement");
    assert.deepEqual(service.pendingGradientCounts(), { retrying: 0, givenUp: 1 });
    now += 365 * 86_400_000;
    assert.deepEqual(await service.retryPendingGradients(served), { completed: [], failed: [], givenUp: [] }, "never tried again");

    // The operator raises the limit and restarts: the record is due at once.
    service = new SketchedService({ database: db, engine, gradientRetry: { ...policy, maxAttempts: 5 }, now: clock });
    assert.deepEqual(service.pendingGradientCounts(), { retrying: 1, givenUp: 0 });
    assert.equal((await service.retryPendingGradients(served)).givenUp[0].attempts, 5);
    assert.equal(calls.length, 4);
    db.close();
  });

  it("opens a database made before gradient retries, and gives up at once a pending record whose tokens were not kept", async () => {
    const file = join(dir, "old.sqlite");
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE serve_records (record_id TEXT PRIMARY KEY, model_id TEXT NOT NULL, payer TEXT NOT NULL, cumulative_amount TEXT NOT NULL,
      record_hash TEXT NOT NULL, record TEXT NOT NULL, cid TEXT, created_at TEXT NOT NULL, prompt_tokens TEXT, output_tokens TEXT, gradient_pending INTEGER NOT NULL DEFAULT 0)`);
    old.prepare("INSERT INTO serve_records VALUES ('req-old', '1', ?, '100', '0x00', '{}', NULL, '2026-01-01T00:00:00Z', NULL, NULL, 1)").run(ACCOUNTS[1]);
    old.close();
    const db = NodeDatabase.open(file);
    const service = new SketchedService({ database: db, gradientRetry: { maxAttempts: 3, backoffMs: 1_000, maxBackoffMs: 1_000 } });
    assert.deepEqual(service.record("req-old")!.gradientRetry, { attempts: 0, error: null, nextAttemptAt: null });
    const report = await service.retryPendingGradients(() => model);
    assert.equal(report.givenUp.length, 1);
    assert.equal(report.givenUp[0].attempts, 3);
    assert.match(report.givenUp[0].error, /prompt and output tokens were not kept/);
    assert.equal(service.record("req-old")!.gradientPending, true);
    db.close();
  });
});
