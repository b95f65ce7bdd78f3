/**
 * Binary file format of a gradient sketch (little-endian), loaded as zero-copy views.
 *
 *   offset  size      field
 *   0       8         magic "TRIBGRSK"
 *   8       4         format version (2; version 1 files, without provenance, are still read)
 *   12      4         k, projection dims
 *   16      4         E, example count
 *   20      4         C, checkpoint count
 *   24      4         J, bytes of provenance JSON (0 in version 1)
 *   28      4         reserved, zero
 *   32      J'        provenance (GradientSketchProvenance) as canonical JSON, UTF-8, padded with
 *                     spaces to J' = J rounded up to a multiple of 8 (absent in version 1)
 *   ...     8C        learning rate of each checkpoint (f64)
 *   ...     32E       contribution id of each example, uint256 as 8 u32 limbs, least significant first
 *   ...     4CEk      gradients (f32), checkpoint-major, then example, then dim
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { endianness } from "node:os";
import { InvalidGradientSketchError } from "./errors.ts";
import { checkGradientSketch, type GradientSketch, type GradientSketchProvenance } from "./gradient-influence.ts";
import { canonicalJson } from "./canonical-json.ts";

const padTo8 = (n: number): number => Math.ceil(n / 8) * 8;

const MAGIC = "TRIBGRSK";
const FORMAT_VERSION = 2;
const HEADER_BYTES = 32;

export function encodeGradientSketch(sketch: GradientSketch): Uint8Array {
  checkGradientSketch(sketch);
  const k = sketch.dims;
  const e = sketch.exampleContributionIds.length;
  const c = sketch.checkpoints.length;
  const provenance = sketch.provenance ? new TextEncoder().encode(canonicalJson(sketch.provenance)) : new Uint8Array(0);
  const provenanceBytes = padTo8(provenance.length);
  const bytes = new Uint8Array(HEADER_BYTES + provenanceBytes + 8 * c + 32 * e + 4 * c * e * k);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, k, true);
  view.setUint32(16, e, true);
  view.setUint32(20, c, true);
  view.setUint32(24, provenance.length, true);
  bytes.set(provenance, HEADER_BYTES);
  bytes.fill(0x20, HEADER_BYTES + provenance.length, HEADER_BYTES + provenanceBytes);
  let at = HEADER_BYTES + provenanceBytes;
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
  if (version !== 1 && version !== FORMAT_VERSION) fail(`format version ${version} is not supported`, { version });
  const k = view.getUint32(12, true);
  const e = view.getUint32(16, true);
  const c = view.getUint32(20, true);
  const provenanceLength = version === 1 ? 0 : view.getUint32(24, true);
  const provenanceBytes = padTo8(provenanceLength);
  const expected = HEADER_BYTES + provenanceBytes + 8 * c + 32 * e + 4 * c * e * k;
  if (bytes.length !== expected) fail(`size ${bytes.length} does not match k=${k}, E=${e}, C=${c} (expected ${expected})`, { size: bytes.length });

  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const alignedView = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
  let provenance: GradientSketchProvenance | undefined;
  if (provenanceLength > 0) {
    try {
      provenance = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(aligned.subarray(HEADER_BYTES, HEADER_BYTES + provenanceLength)));
    } catch {
      fail("the provenance block is not UTF-8 JSON");
    }
    if (!isProvenance(provenance)) fail("the provenance block lacks projection, sequenceLength, baseModel or checkpoints");
  }
  let at = HEADER_BYTES + provenanceBytes;
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
  // A NaN or infinite gradient would silently void its contribution's influence (a comparison with NaN is false).
  checkpoints.forEach(({ exampleGradients }, i) => {
    const bad = exampleGradients.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) fail(`checkpoint ${i}, example ${Math.floor(bad / k)} holds a non-finite gradient`);
  });
  const sketch: GradientSketch = provenance ? { dims: k, exampleContributionIds, checkpoints, provenance } : { dims: k, exampleContributionIds, checkpoints };
  checkGradientSketch(sketch);
  return sketch;
}

function isProvenance(value: unknown): value is GradientSketchProvenance {
  const p = value as GradientSketchProvenance | null;
  return typeof p === "object" && p !== null
    && typeof p.projection === "object" && p.projection !== null && typeof p.projection.kind === "string"
    && Number.isSafeInteger(p.projection.seed) && Number.isSafeInteger(p.projection.dims)
    && Number.isSafeInteger(p.sequenceLength) && p.sequenceLength > 0
    && typeof p.baseModel === "string" && /^0x[0-9a-f]{64}$/.test(p.baseModel)
    && Array.isArray(p.checkpoints)
    && p.checkpoints.every((c) => Number.isSafeInteger(c?.step) && typeof c.learningRate === "number" && typeof c.digest === "string");
}

/** sha2-256 of the sketch's file bytes (0x-hex): what a record names the sketch by. */
export function gradientSketchDigest(sketch: GradientSketch): `0x${string}` {
  let digest = digests.get(sketch);
  if (!digest) {
    digest = `0x${createHash("sha256").update(encodeGradientSketch(sketch)).digest("hex")}` as const;
    digests.set(sketch, digest);
  }
  return digest;
}

const digests = new WeakMap<GradientSketch, `0x${string}`>();

export async function saveGradientSketch(path: string, sketch: GradientSketch): Promise<void> {
  await writeFile(path, encodeGradientSketch(sketch));
}

export async function loadGradientSketch(path: string): Promise<GradientSketch> {
  return decodeGradientSketch(await readFile(path));
}
