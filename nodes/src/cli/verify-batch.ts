/**
 * tributary-node verify-batch <batch.json> --records <records.json> --index <dir> [options]
 *
 * Exit codes: 0 the batch recomputes exactly, 1 discrepancies were found, 2 the command could not
 * run (bad arguments, unreadable or malformed files).
 */
import { readFile } from "node:fs/promises";
import { AttributionError } from "../attribution/errors.ts";
import { createFileDataSource } from "../attribution/file-data-source.ts";
import { parseBatch } from "../attribution/parse-batch.ts";
import { verifyBatch } from "../attribution/verify-batch.ts";
import type { VerifyOptions } from "../attribution/verify-record.ts";
import { createFileGradientRecomputeSource, createOutputGradientRecomputer, type ReproducibleBackendName } from "../attribution/recompute-output-gradients.ts";
import { createDatanetVersionReader } from "../attribution/datanet-version-reader.ts";
import { createModelProvenanceReader } from "../attribution/model-provenance-reader.ts";
import type { Backend } from "../engine/backend/backend.ts";
import { createReferenceBackend } from "../engine/backend/reference.ts";
import { createWasmBackend } from "../engine/backend/wasm/wasm-backend.ts";
import { createPublicClient, http, isAddress, type Address } from "viem";
import { parseCommandArgs, reportMissing } from "./parse-command.ts";

const HELP = `Usage: tributary-node verify-batch <batch.json> --records <records.json> --index <dir> [options]

Recomputes a settlement batch from public data and reports every discrepancy.

Options:
  --records <file>     the batch's records file (JSON array of tributary.attribution/2 records)
  --index <dir>        folder of span indexes, <datanetRoot>.spanindex
  --manifests <dir>    folder of Datanet manifests, <datanetRoot>.manifest.json (default: --index)
  --sketches <dir>     folder of gradient sketches, <modelCid>.gradsketch (default: --index)
  --outputs <dir>      folder of published outputs, <requestId>.tokens.json and <requestId>.prompt.json
  --models <dir>       base models by weights digest, <dir>/<sha256>/ (Hugging Face folders); with
  --checkpoints <dir>  TracIn checkpoints, <sha256>.safetensors: output gradients are recomputed
                       (records with gradient evidence are reported as unverifiable without them)
  --rpc <url>          JSON-RPC endpoint; with --registry, each record's Datanet root is checked
  --registry <address> against DatanetRegistry.versionRoot
  --model-registry <address>  with --rpc, each record's model is checked against ModelRegistry.getProvenance
                       (its adapter CID, and the Datanet id, version and root it was trained on)
  --previous <file>    the node's previous batch, to check the previous credits it starts from
  --json               print the report as JSON
  -h, --help           show this help`;

export async function verifyBatchCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs("verify-batch", args, {
    records: { type: "string" },
    index: { type: "string" },
    manifests: { type: "string" },
    sketches: { type: "string" },
    outputs: { type: "string" },
    models: { type: "string" },
    checkpoints: { type: "string" },
    rpc: { type: "string" },
    registry: { type: "string" },
    "model-registry": { type: "string" },
    previous: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  }, HELP);
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const missing = reportMissing("verify-batch", [
    positionals.length !== 1 && "<batch.json>", !values.records && "--records", !values.index && "--index",
    values.models && !values.checkpoints && "--checkpoints (with --models)", values.checkpoints && !values.models && "--models (with --checkpoints)",
    values.rpc && !values.registry && "--registry (with --rpc)", values.registry && !values.rpc && "--rpc (with --registry)",
    values["model-registry"] && !values.rpc && "--rpc (with --model-registry)",
  ], HELP);
  if (missing !== undefined) return missing;

  for (const flag of ["registry", "model-registry"] as const) {
    const value = values[flag];
    if (value && !isAddress(value)) {
      console.error(`verify-batch: --${flag} ${value} is not an address.`);
      return 2;
    }
  }
  const backends: Partial<Record<ReproducibleBackendName, Backend>> = {};
  try {
    const options: VerifyOptions = {};
    if (values.models) {
      backends.reference = createReferenceBackend();
      backends["wasm-simd"] = await createWasmBackend({ fusedMultiplyAdd: false });
      options.gradients = createOutputGradientRecomputer(createFileGradientRecomputeSource({ modelsDir: values.models, checkpointsDir: values.checkpoints! }), backends);
    }
    if (values.rpc) {
      const client = createPublicClient({ transport: http(values.rpc) });
      options.chain = createDatanetVersionReader(client, values.registry as Address);
      if (values["model-registry"]) options.models = createModelProvenanceReader(client, values["model-registry"] as Address);
    }
    const batch = parseBatch(await readJson(positionals[0]), positionals[0]);
    const records = await readJson(values.records!);
    if (!Array.isArray(records)) throw new AttributionError(`${values.records} is not a JSON array of records.`, { path: values.records });
    const previous = values.previous ? parseBatch(await readJson(values.previous), values.previous) : undefined;
    const source = createFileDataSource({ indexDir: values.index!, manifestDir: values.manifests, sketchDir: values.sketches, outputDir: values.outputs });
    const result = await verifyBatch(batch, records, source, previous, options);

    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
    } else if (result.ok) {
      console.log(`OK: ${result.recordCount} records and ${result.accountCount} account credits recompute exactly; root ${batch.root}.`);
    } else {
      console.log(`FAILED: ${result.discrepancies.length} discrepancies in ${positionals[0]}:`);
      for (const d of result.discrepancies) console.log(`  [${d.code}] ${d.message}`);
    }
    return result.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof AttributionError || error instanceof SyntaxError || (error as NodeJS.ErrnoException).code === "ENOENT") {
      console.error(`verify-batch: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  } finally {
    await Promise.all(Object.values(backends).map((b) => b.dispose()));
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}
