/**
 * Binary file format of a gradient sketch (little-endian), loaded as zero-copy views.
 *
 *   offset  size      field
 *   0       8         magic "TRIBGRSK"
 *   8       4         format version (1)
 *   12      4         k, projection dims
 *   16      4         E, example count
 *   20      4         C, checkpoint count
 *   24      8         reserved, zero
 *   32      8C        learning rate of each checkpoint (f64)
 *   ...     32E       contribution id of each example, uint256 as 8 u32 limbs, least significant first
 *   ...     4CEk      gradients (f32), checkpoint-major, then example, then dim
 */
import { readFile, writeFile } from "node:fs/promises";
import { endianness } from "node:os";
import { InvalidGradientSketchError } from "./errors.ts";
import { checkGradientSketch, type GradientSketch } from "./gradient-influence.ts";

const MAGIC = "TRIBGRSK";
const FORMAT_VERSION = 1;
const HEADER_BYTES = 32;

export function encodeGradientSketch(sketch: GradientSketch): Uint8Array {
  checkGradientSketch(sketch);
  const k = sketch.dims;
  const e = sketch.exampleContributionIds.length;
  const c = sketch.checkpoints.length;
  const bytes = new Uint8Array(HEADER_BYTES + 8 * c + 32 * e + 4 * c * e * k);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, k, true);
  view.setUint32(16, e, true);
  view.setUint32(20, c, true);
  let at = HEADER_BYTES;
  for (const checkpoint of sketch.checkpoints) {
    view.setFloat64(at, checkpoint.learningRate, true);
    at += 8;
  }
  for (const id of sketch.exampleContributionIds) {
    if (id < 0n || id >= 1n << 256n) throw new InvalidGradientSketchError(`Contribution id ${id} is not a uint256.`, { contributionId: id.toString() });
    for (let limb = 0; limb < 8; limb++, at += 4) view.setUint32(at, Number((id >> BigInt(32 * limb)) & 0xffffffffn), true);
  }
  for (const checkpoint of sketch.checkpoints) {
    for (let i = 0; i < checkpoint.exampleGradients.length; i++, at += 4) view.setFloat32(at, checkpoint.exampleGradients[i], true);
  }
  return bytes;
}

export function decodeGradientSketch(bytes: Uint8Array): GradientSketch {
  const fail = (problem: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidGradientSketchError(`Invalid gradient sketch file: ${problem}.`, details);
  };
  if (endianness() !== "LE") fail("gradient sketches are only mapped on little-endian hosts");
  if (bytes.length < HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC) fail(`magic is "${magic}", expected "${MAGIC}"`, { magic });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) fail(`format version ${version} is not supported`, { version });
  const k = view.getUint32(12, true);
  const e = view.getUint32(16, true);
  const c = view.getUint32(20, true);
  const expected = HEADER_BYTES + 8 * c + 32 * e + 4 * c * e * k;
  if (bytes.length !== expected) fail(`size ${bytes.length} does not match k=${k}, E=${e}, C=${c} (expected ${expected})`, { size: bytes.length });

  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const alignedView = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  let at = HEADER_BYTES;
  const learningRates: number[] = [];
  for (let i = 0; i < c; i++, at += 8) learningRates.push(alignedView.getFloat64(at, true));
  const exampleContributionIds: bigint[] = [];
  for (let i = 0; i < e; i++) {
    let id = 0n;
    for (let limb = 7; limb >= 0; limb--) id = (id << 32n) | BigInt(alignedView.getUint32(at + 4 * limb, true));
    exampleContributionIds.push(id);
    at += 32;
  }
  const checkpoints = learningRates.map((learningRate, i) => ({
    learningRate,
    exampleGradients: new Float32Array(aligned.buffer, aligned.byteOffset + at + 4 * i * e * k, e * k),
  }));
  const sketch = { dims: k, exampleContributionIds, checkpoints };
  checkGradientSketch(sketch);
  return sketch;
}

export async function saveGradientSketch(path: string, sketch: GradientSketch): Promise<void> {
  await writeFile(path, encodeGradientSketch(sketch));
}

export async function loadGradientSketch(path: string): Promise<GradientSketch> {
  return decodeGradientSketch(await readFile(path));
}
