import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ContractFunctionExecutionError, ContractFunctionRevertedError, keccak256, toHex, type Address, type Hex } from "viem";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  attribute,
  buildSpanIndex,
  createFileDataSource,
  createModelProvenanceReader,
  encodeSpanIndex,
  GET_PROVENANCE_ABI,
  spanIndexFileName,
  verifyRecord,
  type ModelProvenanceReader,
} from "../../../nodes/src/attribution/index.ts";

const REGISTRY: Address = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";
const ROOT = keccak256(toHex("version 1 of Datanet 1"));
const OTHER_ROOT = keccak256(toHex("version 1 of Datanet 2"));

/** ModelRegistry.getProvenance as the chain answers it: model 1 on Datanet 1 v1, model 2 on Datanet 2 v1. */
function client(calls: unknown[]) {
  const provenance = (datanetId: bigint, root: Hex, adapterCid: string) => ({
    jobId: 1n, baseModelId: 1n, datanetId, datanetVersion: 1, datanetRoot: root.toUpperCase().replace("0X", "0x") as Hex,
    trainer: REGISTRY, hyperParamsCid: "bafy-hp", artifacts: { adapterCid, evaluationCid: "bafy-eval", attributionIndexCid: "bafy-index" },
  });
  return {
    readContract: (async (request: { args: readonly [bigint] }) => {
      calls.push(request);
      const [modelId] = request.args;
      if (modelId === 1n) return provenance(1n, ROOT, "bafy-adapter-1");
      if (modelId === 2n) return provenance(2n, OTHER_ROOT, "bafy-adapter-2");
      if (modelId === 9n) throw new Error("connection refused");
      throw new ContractFunctionExecutionError(
        new ContractFunctionRevertedError({ abi: GET_PROVENANCE_ABI, functionName: "getProvenance", message: "UnknownModel" }),
        { abi: GET_PROVENANCE_ABI, functionName: "getProvenance", args: request.args, contractAddress: REGISTRY },
      );
    }) as never,
  };
}

describe("model provenance from the ModelRegistry", () => {
  it("reads getProvenance with the ABI the compiled ModelRegistry has (npm test builds the artifacts first)", async () => {
    const { readFile } = await import("node:fs/promises");
    const artifact = JSON.parse(await readFile(new URL("../../../artifacts/contracts/models/ModelRegistry.sol/ModelRegistry.json", import.meta.url), "utf8"));
    const shape = (value: unknown): unknown => Array.isArray(value)
      ? value.map(shape)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).filter(([key]) => ["name", "type", "components", "inputs", "outputs", "stateMutability"].includes(key)).map(([key, v]) => [key, shape(v)]))
        : value;
    const compiled = artifact.abi.find((entry: { name?: string }) => entry.name === "getProvenance");
    assert.deepEqual(shape(GET_PROVENANCE_ABI[0]), shape(compiled));
  });

  it("reads getProvenance once per model, lower-cases the root, and answers undefined for an unknown model", async () => {
    const calls: unknown[] = [];
    const reader = createModelProvenanceReader(client(calls), REGISTRY);
    assert.deepEqual(await reader.provenance(1n), { adapterCid: "bafy-adapter-1", datanetId: 1n, datanetVersion: 1, datanetRoot: ROOT });
    await reader.provenance(1n);
    assert.equal(calls.length, 1);
    assert.equal(await reader.provenance(5n), undefined);
    await assert.rejects(reader.provenance(9n), /connection refused/);
  });

  it("flags a record whose model id, adapter CID or Datanet is not the model's own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "model-provenance-"));
    try {
      const documents = [1n, 2n].map((contributionId, i) => ({ contributionId, tokens: Array.from({ length: 30 }, (_, j) => 10 * i + j) }));
      await writeFile(join(dir, spanIndexFileName(ROOT)), encodeSpanIndex(buildSpanIndex(ROOT, documents)));
      const source = createFileDataSource({ indexDir: dir });
      const models: ModelProvenanceReader = createModelProvenanceReader(client([]), REGISTRY);
      const recordFor = (id: bigint, cid: string) => attribute({
        requestId: "r", model: { id, cid }, datanet: { id: 1n, version: 1 }, outputTokens: documents[0].tokens.slice(0, 20), index: buildSpanIndex(ROOT, documents),
      });
      const codes = async (id: bigint, cid: string) => (await verifyRecord(recordFor(id, cid), source, { models })).discrepancies.map((d) => d.code);

      assert.deepEqual(await codes(1n, "bafy-adapter-1"), []);
      // Another adapter booked under model 1.
      assert.deepEqual(await codes(1n, "bafy-someone-elses-adapter"), ["model-cid"]);
      // Model 2's revenue attributed through Datanet 1, which model 2 was never trained on.
      assert.deepEqual(await codes(2n, "bafy-adapter-2"), ["model-datanet"]);
      // A model the registry never minted.
      assert.deepEqual(await codes(5n, "bafy-adapter-1"), ["model-unknown"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
