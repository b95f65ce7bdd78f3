/**
 * formats/weight-loader.ts reads a model folder's weights tensor by tensor into a backend's memory:
 * the same values loadModelFolder reads, float32 or (keepHalf) half precision as stored, from single
 * and sharded checkpoints; and a decoder over half-precision weights gives the same logits, bit for
 * bit, as over their float32 widening.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isHalfMatrix, type Backend } from "../../../../nodes/src/engine/backend/backend.ts";
import { createReferenceBackend, halfToFloat32 } from "../../../../nodes/src/engine/backend/reference.ts";
import { createWasmBackend } from "../../../../nodes/src/engine/backend/wasm/wasm-backend.ts";
import { TensorMismatchError } from "../../../../nodes/src/engine/formats/errors.ts";
import { loadModelFolder, type ModelFolder } from "../../../../nodes/src/engine/formats/model-folder.ts";
import { writeSafetensors } from "../../../../nodes/src/engine/formats/safetensors.ts";
import { loadModelWeights } from "../../../../nodes/src/engine/formats/weight-loader.ts";
import { BatchedDecoder } from "../../../../nodes/src/engine/inference/batched-decoder.ts";
import { createSequenceKvCache } from "../../../../nodes/src/engine/inference/kv-cache.ts";

const FIXTURES = fileURLToPath(new URL("../interop/fixtures/", import.meta.url));
const BF16 = join(FIXTURES, "llama-bf16");
let folder: ModelFolder;
let scratch: string;

before(async () => {
  folder = await loadModelFolder(BF16);
  scratch = await mkdtemp(join(tmpdir(), "weight-loader-"));
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("loadModelWeights", () => {
  it("reads the values loadModelFolder reads, widened to float32 or kept as stored", async () => {
    const backend = createReferenceBackend();
    const wide = await loadModelWeights(BF16, folder.config, backend);
    const half = await loadModelWeights(BF16, folder.config, backend, { keepHalf: true });
    assert.deepEqual([...wide.keys()].sort(), [...folder.tensors.keys()].sort());
    for (const [name, tensor] of folder.tensors) {
      assert.deepEqual(wide.get(name), tensor.data, name);
      const kept = half.get(name)!;
      assert.equal(isHalfMatrix(kept), tensor.shape.length === 2, `${name}: matrices stay half, vectors are float32`);
      assert.deepEqual(isHalfMatrix(kept) ? halfToFloat32(kept) : kept, tensor.data, name);
    }
  });

  it("reads a sharded checkpoint and checks its index", async () => {
    const dir = join(scratch, "sharded");
    await cp(BF16, dir, { recursive: true });
    await rm(join(dir, "model.safetensors"));
    const names = [...folder.tensors.keys()];
    const shards = [names.slice(0, 5), names.slice(5)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(join(dir, file), writeSafetensors(new Map(shard.map((name) => [name, { ...folder.tensors.get(name)!, dtype: "BF16" as const }]))));
      for (const name of shard) weightMap[name] = file;
    }
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const backend = createReferenceBackend();
    const weights = await loadModelWeights(dir, folder.config, backend, { keepHalf: true });
    for (const [name, tensor] of folder.tensors) {
      const kept = weights.get(name)!;
      assert.deepEqual(isHalfMatrix(kept) ? halfToFloat32(kept) : kept, tensor.data, name);
    }
    weightMap[names[0]] = "model-00002-of-00002.safetensors";
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    await assert.rejects(loadModelWeights(dir, folder.config, backend), TensorMismatchError);
  });
});

describe("serving half-precision weights", () => {
  for (const name of ["reference", "wasm"] as const) {
    it(`a decoder over bf16 weights gives the logits of their float32 widening, bit for bit (${name})`, async () => {
      const backend: Backend = name === "wasm" ? await createWasmBackend({ threads: 1 }) : createReferenceBackend();
      try {
        const run = async (keepHalf: boolean) => {
          const weights = await loadModelWeights(BF16, folder.config, backend, { keepHalf });
          const decoder = new BatchedDecoder(folder.config, weights, backend);
          const caches = [0, 1].map(() => createSequenceKvCache(backend, folder.config, 16));
          const prefill = decoder.forward([{ cache: caches[0], tokens: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], adapter: null }, { cache: caches[1], tokens: [3, 4], adapter: null }], { allLogits: true }).slice();
          const decode = decoder.forward([{ cache: caches[0], tokens: [11], adapter: null }, { cache: caches[1], tokens: [12], adapter: null }]).slice();
          return { prefill, decode, half: [...weights.values()].some(isHalfMatrix) };
        };
        const wide = await run(false);
        const half = await run(true);
        assert.equal(half.half, true);
        assert.deepEqual(half.prefill, wide.prefill);
        assert.deepEqual(half.decode, wide.decode);
      } finally {
        await backend.dispose();
      }
    });
  }
});
