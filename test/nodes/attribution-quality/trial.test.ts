import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createBackend } from "../../../nodes/src/engine/backend/create-backend.ts";
import { loadTokenizer } from "../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { corpusPassageSources } from "../../../bench/attribution-quality/corpus-passage-sources.ts";
import { runTrial } from "../../../bench/attribution-quality/trial.ts";
import { METHODS } from "../../../bench/attribution-quality/attribute-output.ts";

const tokenizerDir = new URL("../../../scripts/base-model/tokenizer/", import.meta.url);

describe("attribution quality trial (end to end, a few steps)", () => {
  it("plants, trains, generates, takes gradients and attributes every output by every method", async () => {
    const tokenizer = loadTokenizer(
      JSON.parse(await readFile(new URL("tokenizer.json", tokenizerDir), "utf8")),
      JSON.parse(await readFile(new URL("tokenizer_config.json", tokenizerDir), "utf8")),
    );
    const backend = await createBackend({ threads: 1, fusedMultiplyAdd: false });
    try {
      const result = await runTrial(backend, tokenizer, corpusPassageSources(), {
        seed: 5, contributors: 2, uniquePerContributor: 1, filler: 1, unrelated: 2, passageTokens: 24, promptTokens: 8,
        steps: 3, learningRate: 1e-2, batchSize: 2, rank: 2, dims: 32, projection: "kronecker-rademacher", mixPpm: 500_000, threshold: 0.5, log: () => {},
      });
      assert.equal(result.datanet.contributions, 2 * (1 + 1));
      assert.deepEqual(result.training.checkpoints.map((c) => c.step), [1, 2, 3]);
      assert.equal(result.memorization.total, 2);
      assert.equal(result.memorization.outputTokens, 16);
      for (const method of METHODS) {
        assert.equal(result.planted[method].length, 2);
        assert.equal(result.unrelatedGenerated[method].length, 2);
        assert.equal(result.unrelatedText[method].length, 2);
      }
      // Text from outside the Datanet shares no 8-gram with it: no span evidence.
      assert.ok(result.unrelatedText.span.every((top) => top.contributor === null));
      const missed = result.planted.combined.filter((p) => p.top.contributor !== p.owner || p.top.share < 0.5).length;
      assert.equal(result.misses.length, missed);
    } finally {
      await backend.dispose();
    }
  });
});
