/**
 * tributary-node verify-sketch <gradient-sketch> --training-set <file> --hyperparameters <file> --models <dir> --checkpoints <dir>
 *
 * Rebuilds a model's published gradient sketch from public data, as its training job built it, and reports every
 * difference (attribution/verify-sketch.ts). The training set is the job's `training-set.jsonl` (one
 * { contributionId, contributor, text } per line: what `rebuildTrainingSet` recovers from the Datanet version on
 * IPFS); the job's held-out contributions and canaries are chosen from it by the job's seed, exactly as the job did.
 *
 * Exit codes: 0 the sketch rebuilds within tolerance, 1 discrepancies were found, 2 the command could not run.
 */
import { readFile } from "node:fs/promises";
import { parseCommandArgs, reportMissing } from "./parse-command.ts";
import { getAddress, isAddress } from "viem";
import { AttributionError } from "../attribution/errors.ts";
import { decodeGradientSketch } from "../attribution/gradient-sketch-file.ts";
import { baseModelFolder, createFileGradientRecomputeSource } from "../attribution/recompute-output-gradients.ts";
import { SKETCH_ROW_TOLERANCE, verifyGradientSketch } from "../attribution/verify-sketch.ts";
import type { TaggedTrainingExample } from "../attribution/build-gradient-sketch.ts";
import { createWasmBackend } from "../engine/backend/wasm/wasm-backend.ts";
import { LlamaModel } from "../engine/model/llama.ts";
import { weightsOnBackend } from "../engine/model/weights.ts";
import { decodeTracInCheckpoint } from "../engine/train/tracin-checkpoint.ts";
import { validateHyperparameters } from "../jobs/hyperparameters.ts";
import {
  canarySplit, GRADIENT_SKETCH_DIMS, GRADIENT_SKETCH_SHARED_TEXT, GRADIENT_SKETCH_SIMILARITY, heldOutIds, tracinStepsAtEpochs, trainingSteps,
} from "../jobs/phases/engine-phases.ts";

const HELP = `Usage: tributary-node verify-sketch <gradient-sketch> --training-set <file> --hyperparameters <file> --models <dir> --checkpoints <dir> [options]

Rebuilds a model's gradient sketch from public data and reports every difference: rows that are not the
training examples' gradients, examples relabelled to other contributions, shared text that is not shared.

Options:
  --training-set <file>     the job's training set, one JSON { contributionId, contributor, text } per line
  --hyperparameters <file>  the job's hyper-parameters document (its seed picks the held-out contributions)
  --models <dir>            base models by weights digest, <dir>/<sha256>/ (Hugging Face folders)
  --checkpoints <dir>       TracIn checkpoints, <sha256>.safetensors
  --tolerance <x>           largest relative L2 error of a row (default ${SKETCH_ROW_TOLERANCE})
  --json                    print the report as JSON
  -h, --help                show this help`;

export async function verifySketchCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs("verify-sketch", args, {
    "training-set": { type: "string" },
    hyperparameters: { type: "string" },
    models: { type: "string" },
    checkpoints: { type: "string" },
    tolerance: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  }, HELP);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const missing = reportMissing("verify-sketch", [
    positionals.length !== 1 && "<gradient-sketch>", !values["training-set"] && "--training-set", !values.hyperparameters && "--hyperparameters",
    !values.models && "--models", !values.checkpoints && "--checkpoints",
  ], HELP);
  if (missing !== undefined) return missing;
  const tolerance = values.tolerance === undefined ? SKETCH_ROW_TOLERANCE : Number(values.tolerance);
  if (!(tolerance > 0 && Number.isFinite(tolerance))) {
    console.error(`verify-sketch: --tolerance must be a finite number above 0, got "${values.tolerance}".`);
    return 2;
  }
  const backend = await createWasmBackend({ fusedMultiplyAdd: false });
  try {
    const sketch = decodeGradientSketch(new Uint8Array(await readFile(positionals[0])));
    if (!sketch.provenance) throw new AttributionError(`${positionals[0]} names no provenance: it cannot be rebuilt.`, { path: positionals[0] });
    const hp = validateHyperparameters(JSON.parse(await readFile(values.hyperparameters!, "utf8")), values.hyperparameters!);
    const contributions = parseTrainingSet(await readFile(values["training-set"]!, "utf8"), values["training-set"]!);

    const source = createFileGradientRecomputeSource({ modelsDir: values.models!, checkpointsDir: values.checkpoints! });
    // The base model's folder, checked against the digest the sketch names (its tokenizer is the job's).
    const base = await baseModelFolder(values.models!, sketch.provenance.baseModel);
    if (!base) throw new AttributionError(`No base model with weights digest ${sketch.provenance.baseModel} in ${values.models}.`, { baseModel: sketch.provenance.baseModel });
    const tokenizer = base.tokenizer;
    const checkpoints = await Promise.all(sketch.provenance.checkpoints.map(async ({ digest }) => {
      const bytes = await source.tracinCheckpoint(digest);
      if (!bytes) throw new AttributionError(`No TracIn checkpoint ${digest} in ${values.checkpoints}.`, { checkpoint: digest });
      return decodeTracInCheckpoint(bytes, base.config);
    }));

    // The job's examples: every contribution tokenized as the job's engine does, the held-out ones and the canaries
    // cut out by the job's seed (engine-phases.ts, the same functions).
    const heldOut = heldOutIds(contributions.map((c) => c.contributionId.toString()), hp.seed);
    const encoded: TaggedTrainingExample[] = contributions.map((c) => ({ contributionId: c.contributionId, contributor: c.contributor, tokens: Int32Array.from(tokenizer.encode(c.text)) }));
    const examples = canarySplit(encoded, heldOut, hp.seed).training;
    // The settings the job's rules give (engine-phases.ts): a sketch built honestly with other ones (a projection seed
    // or shared-text rule picked to favour an account) is reported, not rebuilt as it claims.
    const expected = {
      projection: { kind: "kronecker-rademacher" as const, seed: hp.seed, dims: GRADIENT_SKETCH_DIMS }, sequenceLength: hp.sequenceLength,
      similarity: GRADIENT_SKETCH_SIMILARITY, lastLayers: null, sharedText: { ...GRADIENT_SKETCH_SHARED_TEXT },
      checkpointSteps: tracinStepsAtEpochs(hp.epochs, trainingSteps(examples.map((e) => e.tokens), hp)),
    };

    const model = new LlamaModel(base.config, weightsOnBackend(backend, [...base.tensors].map(([name, t]) => [name, t.data])), backend);
    const result = verifyGradientSketch(model, checkpoints, examples, sketch, { tolerance, expected });
    const ok = result.discrepancies.length === 0;
    if (values.json) {
      console.log(JSON.stringify({ ok, ...result }, null, 2));
    } else if (ok) {
      console.log(`OK: ${result.rowsChecked} rows (${examples.length} examples × ${checkpoints.length} checkpoints) rebuild within ${tolerance} (largest relative error ${result.maxRelativeError.toPrecision(3)}).`);
    } else {
      console.log(`FAILED: ${result.discrepancies.length} discrepancies in ${positionals[0]}:`);
      for (const d of result.discrepancies) console.log(`  [${d.code}] ${d.message}`);
    }
    return ok ? 0 : 1;
  } catch (error) {
    // Whatever stops the check (unreadable or malformed files, a checkpoint that does not decode) is exit 2, never 1.
    console.error(`verify-sketch: ${(error as Error).message}`);
    return 2;
  } finally {
    await backend.dispose();
  }
}

function parseTrainingSet(text: string, path: string): { contributionId: bigint; contributor: `0x${string}`; text: string }[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      throw new SyntaxError(`${path} line ${i + 1} is not JSON: ${(error as Error).message}`);
    }
    const { contributionId, contributor, text: content } = entry;
    // Canonical decimal (no leading zeros): the job picks its held-out contributions from these strings.
    if (typeof contributionId !== "string" || !/^(0|[1-9]\d*)$/.test(contributionId)) throw new AttributionError(`${path} line ${i + 1}: contributionId must be a decimal string without leading zeros.`, { line: i + 1 });
    if (typeof contributor !== "string" || !isAddress(contributor, { strict: false })) throw new AttributionError(`${path} line ${i + 1}: contributor must be an address.`, { line: i + 1 });
    if (typeof content !== "string") throw new AttributionError(`${path} line ${i + 1}: text must be a string.`, { line: i + 1 });
    return { contributionId: BigInt(contributionId), contributor: getAddress(contributor), text: content };
  });
}
