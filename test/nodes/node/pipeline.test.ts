import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PhaseRegistry, remainingPhases, uploadOutputOf } from "../../../nodes/src/jobs/pipeline.ts";
import { evaluateJob, type JobPolicy } from "../../../nodes/src/jobs/policy.ts";

describe("job pipeline and policy", () => {
  it("registers one handler per phase; submit is built in", () => {
    const phases = new PhaseRegistry();
    assert.deepEqual(phases.missing(), ["fetch", "verify", "train", "sketch", "evaluate", "upload"]);
    phases.register("train", () => ({}));
    assert.throws(() => phases.register("train", () => ({})), /phase "train" already has a handler/);
    assert.throws(() => phases.register("submit" as never, () => ({})), /submit is built in/);
    assert.deepEqual(phases.missing(), ["fetch", "verify", "sketch", "evaluate", "upload"]);
  });

  it("resumes after the last completed phase", () => {
    // sketch before evaluate: the evaluation report's attribution section uses the span index and gradient sketch.
    assert.deepEqual(remainingPhases(null), ["fetch", "verify", "train", "sketch", "evaluate", "upload", "submit"]);
    assert.deepEqual(remainingPhases("sketch"), ["evaluate", "upload", "submit"]);
    assert.deepEqual(remainingPhases("evaluate"), ["upload", "submit"]);
    assert.deepEqual(remainingPhases("submit"), []);
  });

  it("requires the upload phase's three CIDs", () => {
    const cids = { adapterCid: "a", evaluationCid: "e", attributionIndexCid: "i" };
    assert.deepEqual(uploadOutputOf({ upload: cids }), cids);
    assert.throws(() => uploadOutputOf({ upload: { adapterCid: "a", evaluationCid: "e" } }), /attributionIndexCid is missing/);
    assert.throws(() => uploadOutputOf({}), /adapterCid is missing/);
  });

  it("takes a job only with the training capability, the base model held, the fee and the time", () => {
    const policy: JobPolicy = { capabilities: ["training"], baseModels: new Map([[1n, "/m"]]), minFee: 10n ** 19n, minSecondsBeforeDeadline: 60n };
    const job = { baseModelId: 1n, fee: 10n ** 19n, deadline: 1_000n };
    assert.deepEqual(evaluateJob(job, policy, 100n), { accept: true });
    assert.deepEqual(evaluateJob(job, { ...policy, capabilities: ["serving"] }, 100n), { accept: false, reason: "this node does not have the training capability" });
    assert.deepEqual(evaluateJob({ ...job, baseModelId: 2n }, policy, 100n), { accept: false, reason: "base model 2 is not held (held: 1)" });
    assert.deepEqual(evaluateJob({ ...job, fee: 10n ** 18n }, policy, 100n), { accept: false, reason: "fee 1 is below the node's minimum 10" });
    assert.equal(evaluateJob(job, policy, 950n).accept, false);
  });
});
