/**
 * Writes a random-weight Llama checkpoint of any size as a Hugging Face model folder in bf16,
 * sharded (each shard under 2 GiB) and streamed tensor by tensor, so a 1B-parameter model is written
 * without holding it in memory. A word-level tokenizer names every id ("t0", "t1", ...), since
 * random weights sample any of them. Not committed: benchmarks write it to a temporary folder.
 */
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toHfConfig, type ScaledLlamaConfig } from "../../nodes/src/engine/formats/llama-config.ts";
import { expectedLlamaTensors } from "../../nodes/src/engine/formats/llama-tensors.ts";

const SHARD_BYTES = 1.5 * 2 ** 30;

/** bf16 bits of uniform(−scale, scale) values from a xorshift stream (fast: a billion of them take seconds). */
function fillRandomBf16(bits: Uint16Array, seed: number, scale: number, ones: boolean): void {
  if (ones) {
    bits.fill(0x3f80); // 1.0: RMSNorm weights start at one
    return;
  }
  let state = (seed * 2654435761) >>> 0 || 1;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < bits.length; i++) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    f32[0] = (state / 2147483648 - 1) * scale;
    bits[i] = u32[0] >>> 16;
  }
}

export async function writeRandomBf16Checkpoint(dir: string, config: ScaledLlamaConfig, scale = 0.02): Promise<{ parameters: number; bytes: number }> {
  const tensors = [...expectedLlamaTensors(config)];
  // Greedy shards in tensor order, each under SHARD_BYTES.
  const shards: [string, number[]][][] = [[]];
  let shardBytes = 0;
  for (const entry of tensors) {
    const bytes = 2 * entry[1].reduce((a, b) => a * b, 1);
    if (shardBytes + bytes > SHARD_BYTES && shards.at(-1)!.length > 0) {
      shards.push([]);
      shardBytes = 0;
    }
    shards.at(-1)!.push(entry);
    shardBytes += bytes;
  }
  const weightMap: Record<string, string> = {};
  let parameters = 0;
  for (const [s, shard] of shards.entries()) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
    let offset = 0;
    for (const [name, shape] of shard) {
      const bytes = 2 * shape.reduce((a, b) => a * b, 1);
      header[name] = { dtype: "BF16", shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
      weightMap[name] = file;
    }
    let json = JSON.stringify(header);
    json += " ".repeat((8 - (json.length % 8)) % 8);
    const handle = await open(join(dir, file), "w");
    try {
      const prefix = new Uint8Array(8 + json.length);
      new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
      prefix.set(new TextEncoder().encode(json), 8);
      await handle.write(prefix);
      for (const [index, [, shape]] of shard.entries()) {
        const n = shape.reduce((a, b) => a * b, 1);
        const bits = new Uint16Array(n);
        fillRandomBf16(bits, s * 1000 + index + 1, scale, shape.length === 1);
        await handle.write(new Uint8Array(bits.buffer));
        parameters += n;
      }
    } finally {
      await handle.close();
    }
  }
  await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 2 * parameters }, weight_map: weightMap }));
  await writeFile(join(dir, "config.json"), JSON.stringify(toHfConfig(config, "BF16"), null, 2));
  const vocab = Object.fromEntries(Array.from({ length: config.vocabSize }, (_, i) => [`t${i}`, i]));
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify({
    version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: "WhitespaceSplit" }, post_processor: null, decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "t0" },
  }));
  return { parameters, bytes: 2 * parameters };
}
