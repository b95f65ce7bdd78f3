/**
 * Serving's attribution of a model with a gradient sketch whose gradient part fails: the record is stored (span-only,
 * the error in the response) but marked gradient_pending, so the settlement scheduler never settles it as it is
 * (a watcher would report it `gradient-missing`). Real span index and sqlite; the engine and the sketch are fakes
 * that stand for a worker whose output-gradient call fails (the real path is test/nodes/serve/gradient-attribution.test.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toHex } from "viem";
import { buildSpanIndex, encodeSpanIndex, type GradientSketch } from "../../../nodes/src/attribution/index.ts";
import { AttributionService } from "../../../nodes/src/serve/attribution-service.ts";
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
    assert.deepEqual(failed.field.gradient, { error: "the output's gradient could not be computed: worker gone" });
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
});
