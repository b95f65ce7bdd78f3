import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createBackend } from "../../../nodes/src/engine/backend/create-backend.ts";
import { loadTokenizer } from "../../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { corpusPassageSources } from "../../../bench/attribution-quality/corpus-passage-sources.ts";
import { randomBaseModel } from "../../../bench/attribution-quality/base-model.ts";
import { buildTemplatedDatanet } from "../../../bench/attribution-quality/templated-datanet.ts";
import { runRegime, rankingByMethod, thresholdByMethod, verdictOf } from "../../../bench/attribution-quality/regime.ts";
import { runLds } from "../../../bench/attribution-quality/lds-experiment.ts";
import { renderMarkdownReport } from "../../../bench/attribution-quality/report.ts";
import { runSpanScale } from "../../../bench/attribution-quality/span-scale.ts";
import { METHODS } from "../../../bench/attribution-quality/attribute-output.ts";

const tokenizerDir = new URL("../../../scripts/base-model/tokenizer/", import.meta.url);

describe("attribution quality regime (end to end, a few steps)", () => {
  it("trains, evaluates, generates, attributes every output by every method, runs LDS and renders the section", async () => {
    const tokenizer = loadTokenizer(
      JSON.parse(await readFile(new URL("tokenizer.json", tokenizerDir), "utf8")),
      JSON.parse(await readFile(new URL("tokenizer_config.json", tokenizerDir), "utf8")),
    );
    const text = corpusPassageSources();
    const datanet = buildTemplatedDatanet(text.datanet, text.unrelated, tokenizer, {
      contributors: 3, uniquePerContributor: 1, nearDuplicates: 1, editEvery: 10, mixed: 1, heldOut: 2, unrelated: 1,
      contentTokens: 16, promptContentTokens: 4, distinctNgram: 8, seed: 2,
    });
    const backend = await createBackend({ threads: 1, fusedMultiplyAdd: false });
    try {
      const base = randomBaseModel(2, (n) => backend.alloc(n));
      // Null prompts: plain token runs outside the Datanet (the benchmark takes them from other documents).
      const calibrationPrompts = Array.from({ length: 19 }, (_, i) => Int32Array.from({ length: 6 }, (_, j) => 100 + ((i * 7 + j * 13) % 900)));
      const options = {
        name: "tiny", steps: 3, learningRate: 1e-2, batchSize: 2, sequenceLength: 64, rank: 2, dims: 16, mixPpm: 500_000, threshold: 0.5, seed: 2, log: () => {},
        similarity: "cosine" as const, calibrationPrompts, calibrationOutputTokens: 8, falsePositiveRate: 0.05,
      };
      const regime = await runRegime(backend, base, datanet, options);
      assert.equal(regime.verdict, verdictOf(regime.evaluation));
      assert.equal(regime.sketch.provenance!.similarity, "cosine");
      // 19 null outputs at 5 %: the threshold is the largest null share (rank ⌈20 · 0.95⌉ = 19).
      for (const m of METHODS) assert.ok(regime.calibration[m].rank === 19 && regime.calibration[m].quantile === regime.calibration[m].max && regime.calibration[m].threshold >= 0.5);
      assert.equal(regime.evaluation.memorization!.sampled, 4);
      // 3 promptable probes generated (unique ×2, near-duplicate, unrelated: 4) + every probe's own text (5).
      assert.equal(regime.outputs.filter((x) => x.source === "generated").length, 4);
      assert.equal(regime.outputs.filter((x) => x.source === "text").length, 5);
      // The text's own continuation is in the index verbatim: span attribution ranks its holder first.
      const copied = regime.outputs.filter((x) => x.source === "text" && x.kind === "unique");
      assert.equal(rankingByMethod(copied, 3).span.top1Accuracy, 1);
      const threshold = thresholdByMethod(regime.outputs.filter((x) => x.source === "text" && x.kind !== "unrelated"), regime.outputs.filter((x) => x.source === "text" && x.kind === "unrelated"), 0.5);
      for (const m of METHODS) assert.equal(threshold[m].planted, 4);

      const lds = await runLds(backend, base, datanet, regime.outputs.filter((x) => x.source === "generated" && x.kind !== "unrelated"), options, { subsets: 3, epochs: 1, seed: 2 });
      assert.equal(lds.subsets, 3);
      for (const m of METHODS) {
        const s = lds.byMethod[m];
        assert.equal(s.perOutput.length, 3);
        assert.ok(s.lds >= -1 && s.lds <= 1 && s.interval.low <= s.interval.high);
      }
      const scale = runSpanScale(datanet);
      const markdown = renderMarkdownReport({ command: "test", date: new Date().toISOString(), machine: "test", setup: "test", threshold: 0.5, regimes: [regime], lds: { regime: "tiny", result: lds }, scale, seconds: 1 });
      assert.match(markdown, /Linear datamodeling score/);
      assert.match(markdown, /Calibrated thresholds/);
      assert.match(markdown, /\| tiny \| text \| unique \|/);
    } finally {
      await backend.dispose();
    }
  });
});
