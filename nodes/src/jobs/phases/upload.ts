/**
 * The `upload` phase: puts the job's results on IPFS (stored and pinned), records each as an artifact of the job,
 * and returns the three CIDs `submitResult` puts on-chain:
 *   adapterCid           a bundle document { format, files: { name: { cid, byteSize } } } over the PEFT adapter
 *                        folder's files (adapter_config.json, adapter_model.safetensors, ...)
 *   evaluationCid        the evaluation report file
 *   attributionIndexCid  a bundle document over the attribution files (span index, gradient sketch, and the TracIn
 *                        checkpoints when training kept them): what a watcher needs to recompute a record
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { ContentStore } from "../../storage/content-store.ts";
import type { EvaluateOutput, PhaseHandler, SketchOutput, TrainOutput, UploadOutput } from "../pipeline.ts";
import { JobDataError } from "./fetch-verify.ts";

export const ADAPTER_BUNDLE_FORMAT = "tributary.adapter/1";
export const ATTRIBUTION_BUNDLE_FORMAT = "tributary.attribution-index/1";

export interface BundleFile {
  cid: string;
  byteSize: number;
}

export interface ArtifactBundle {
  format: typeof ADAPTER_BUNDLE_FORMAT | typeof ATTRIBUTION_BUNDLE_FORMAT;
  files: Record<string, BundleFile>;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === null) throw new JobDataError(`the upload phase needs ${what}, which no earlier phase produced`);
  return value;
}

export function uploadPhase({ store }: { store: ContentStore }): PhaseHandler {
  return async ({ workDir, outputs, recordArtifact, logger }) => {
    const train = need(outputs.train as TrainOutput | undefined, "the train phase's adapterDir");
    const evaluation = need(outputs.evaluate as EvaluateOutput | undefined, "the evaluate phase's reportPath");
    const sketch = need(outputs.sketch as SketchOutput | undefined, "the sketch phase's files");
    const at = (path: string) => resolve(workDir, path);

    const addFile = async (path: string, kind: string): Promise<BundleFile> => {
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        throw new JobDataError(`cannot read ${path} to upload (${error.code ?? error.message})`);
      });
      const cid = (await store.addBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))).toString();
      recordArtifact({ cid, kind });
      return { cid, byteSize: bytes.byteLength };
    };
    const addBundle = async (format: ArtifactBundle["format"], files: Record<string, BundleFile>, kind: string): Promise<string> => {
      const cid = (await store.addJson({ format, files } satisfies ArtifactBundle)).toString();
      recordArtifact({ cid, kind });
      return cid;
    };

    const adapterDir = at(need(train.adapterDir, "the train phase's adapterDir"));
    const adapterFiles: Record<string, BundleFile> = {};
    for (const name of (await readdir(adapterDir)).sort()) {
      if ((await stat(join(adapterDir, name))).isFile()) adapterFiles[name] = await addFile(join(adapterDir, name), "adapter-file");
    }
    if (!adapterFiles["adapter_config.json"]) throw new JobDataError(`${adapterDir} has no adapter_config.json: it is not a PEFT adapter folder`);
    const adapterCid = await addBundle(ADAPTER_BUNDLE_FORMAT, adapterFiles, "adapter");

    const evaluationCid = (await addFile(at(evaluation.reportPath), "evaluation")).cid;

    const attributionFiles: Record<string, BundleFile> = {};
    for (const [name, path] of Object.entries(sketch.files)) attributionFiles[name] = await addFile(at(path), "attribution-file");
    for (const [name, path] of Object.entries(train.checkpointFiles ?? {})) attributionFiles[`checkpoints/${basename(name)}`] = await addFile(at(path), "tracin-checkpoint");
    if (Object.keys(attributionFiles).length === 0) throw new JobDataError("the sketch phase returned no attribution files");
    const attributionIndexCid = await addBundle(ATTRIBUTION_BUNDLE_FORMAT, attributionFiles, "attribution-index");

    logger.info({ adapterCid, evaluationCid, attributionIndexCid }, "results stored and pinned");
    return { adapterCid, evaluationCid, attributionIndexCid } satisfies UploadOutput;
  };
}
