/**
 * An AttributionDataSource over local folders. File names:
 *   <indexDir>/<datanetRoot>.spanindex        span index (span-index-file.ts)
 *   <manifestDir>/<datanetRoot>.manifest.json  Datanet manifest (datanet-manifest.ts)
 *   <sketchDir>/<modelCid>.gradsketch          gradient sketch (gradient-sketch-file.ts)
 *   <outputDir>/<requestId>.tokens.json        output token ids, a JSON array (optional)
 *   <outputDir>/<requestId>.prompt.json        prompt token ids, a JSON array (needed to recompute gradients)
 * Roots are lower-case hex; request ids and CIDs are URI-component encoded.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import type { AttributionDataSource } from "./data-source.ts";
import { parseManifest, type DatanetManifest } from "./datanet-manifest.ts";
import { InvalidParameterError } from "./errors.ts";
import type { GradientSketch } from "./gradient-influence.ts";
import { decodeGradientSketch } from "./gradient-sketch-file.ts";
import { decodeSpanIndex } from "./span-index-file.ts";
import type { SpanIndex } from "./span-index.ts";

export interface FileDataSourceFolders {
  indexDir: string;
  manifestDir?: string;
  sketchDir?: string;
  outputDir?: string;
}

export const spanIndexFileName = (datanetRoot: string): string => `${datanetRoot.toLowerCase()}.spanindex`;
export const manifestFileName = (datanetRoot: string): string => `${datanetRoot.toLowerCase()}.manifest.json`;
export const gradientSketchFileName = (modelCid: string): string => `${encodeURIComponent(modelCid)}.gradsketch`;
export const outputTokensFileName = (requestId: string): string => `${encodeURIComponent(requestId)}.tokens.json`;
export const promptTokensFileName = (requestId: string): string => `${encodeURIComponent(requestId)}.prompt.json`;

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export function createFileDataSource(folders: FileDataSourceFolders): AttributionDataSource {
  const { indexDir } = folders;
  const manifestDir = folders.manifestDir ?? indexDir;
  const sketchDir = folders.sketchDir ?? indexDir;
  // A batch usually has many records over one Datanet version: load each index once.
  const indexes = new Map<string, Promise<SpanIndex | undefined>>();
  const sketches = new Map<string, Promise<GradientSketch | undefined>>();

  return {
    spanIndex(datanetRoot: Hex) {
      const key = datanetRoot.toLowerCase();
      let index = indexes.get(key);
      if (!index) {
        index = readIfPresent(join(indexDir, spanIndexFileName(key))).then((bytes) => (bytes ? decodeSpanIndex(bytes) : undefined));
        indexes.set(key, index);
      }
      return index;
    },
    async manifest(datanetRoot: Hex): Promise<DatanetManifest | undefined> {
      const path = join(manifestDir, manifestFileName(datanetRoot));
      const bytes = await readIfPresent(path);
      return bytes ? parseManifest(JSON.parse(bytes.toString("utf8")), path) : undefined;
    },
    gradientSketch(modelCid: string): Promise<GradientSketch | undefined> {
      // Loaded once per model: records of one model share it, and its digest is computed once.
      let sketch = sketches.get(modelCid);
      if (!sketch) {
        sketch = readIfPresent(join(sketchDir, gradientSketchFileName(modelCid))).then((bytes) => (bytes ? decodeGradientSketch(bytes) : undefined));
        sketches.set(modelCid, sketch);
      }
      return sketch;
    },
    outputTokens: (requestId: string) => readTokens(folders.outputDir, outputTokensFileName(requestId)),
    promptTokens: (requestId: string) => readTokens(folders.outputDir, promptTokensFileName(requestId)),
  };
}

async function readTokens(dir: string | undefined, name: string): Promise<Uint32Array | undefined> {
  if (!dir) return undefined;
  const path = join(dir, name);
  const bytes = await readIfPresent(path);
  if (!bytes) return undefined;
  const tokens: unknown = JSON.parse(bytes.toString("utf8"));
  if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 0xffffffff)) {
    throw new InvalidParameterError(`${path} is not a JSON array of token ids.`, { path });
  }
  return Uint32Array.from(tokens as number[]);
}
