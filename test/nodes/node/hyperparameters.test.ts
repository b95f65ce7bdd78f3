import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HYPERPARAMETER_PRESETS, hyperparameterPreset, InvalidHyperparametersError, validateHyperparameters } from "../../../nodes/src/jobs/hyperparameters.ts";
import { parseDeadline } from "../../../nodes/src/cli/job.ts";

describe("hyper-parameters", () => {
  it("accepts every preset and returns copies", () => {
    for (const [name, preset] of Object.entries(HYPERPARAMETER_PRESETS)) assert.deepEqual(validateHyperparameters(hyperparameterPreset(name)), preset, name);
    const copy = hyperparameterPreset("tiny");
    copy.targetModules.push("k_proj");
    assert.deepEqual(HYPERPARAMETER_PRESETS.tiny.targetModules, ["q_proj", "v_proj"]);
    assert.throws(() => hyperparameterPreset("huge"), /Unknown preset "huge"; presets are tiny, standard, thorough/);
  });

  it("names the first bad field and what is allowed", () => {
    const tiny = HYPERPARAMETER_PRESETS.tiny;
    const bad = (value: unknown, field: string, message: RegExp) =>
      assert.throws(() => validateHyperparameters(value), (err: Error) => err instanceof InvalidHyperparametersError && err.field === field && message.test(err.message));
    bad({ ...tiny, rank: 0 }, "rank", /rank must be >= 1/);
    bad({ ...tiny, rank: 2.5 }, "rank", /rank must be integer/);
    bad({ ...tiny, learningRate: 0 }, "learningRate", /must be > 0/);
    bad({ ...tiny, targetModules: ["q_proj", "attn"] }, "targetModules[1]", /must be one of q_proj, k_proj/);
    bad({ ...tiny, targetModules: [] }, "targetModules", /must NOT have fewer than 1 items/);
    bad({ ...tiny, dropout: 0.1 }, "dropout", /is not a hyper-parameter/);
    bad({ ...tiny, format: "other/1" }, "format", /must be "tributary\.hyperparameters\/1"/);
    const { seed: _, ...noSeed } = tiny;
    bad(noSeed, "seed", /seed is missing/);
    bad([1, 2], "(document)", /must be object/);
  });

  it("reads deadlines relative to chain time or as a Unix time", () => {
    assert.equal(parseDeadline("2h", 1_000n), 8_200n);
    assert.equal(parseDeadline("3d", 0n), 259_200n);
    assert.equal(parseDeadline("1767225600", 0n), 1_767_225_600n);
    assert.throws(() => parseDeadline("soon", 0n), /--deadline must be a duration like 2h/);
  });
});
