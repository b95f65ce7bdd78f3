/**
 * A training job's hyper-parameters: a JSON document (hyperparameters.schema.json) stored on IPFS, whose CID the
 * job carries on-chain (`hyperParamsCid`). `job create` checks it before any fee is spent; the node checks it
 * again when it takes the job (anyone can put any CID on-chain), and a bad one fails the job with the reason.
 */
import { Ajv, type ErrorObject } from "ajv";
import schema from "./hyperparameters.schema.json" with { type: "json" };

export const HYPERPARAMETERS_FORMAT = "tributary.hyperparameters/1";
export const HYPERPARAMETERS_SCHEMA = schema;

export type LoraTargetModule = "q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj";

export interface Hyperparameters {
  format: typeof HYPERPARAMETERS_FORMAT;
  rank: number;
  alpha: number;
  targetModules: LoraTargetModule[];
  learningRate: number;
  epochs: number;
  batchSize: number;
  sequenceLength: number;
  seed: number;
}

/** Starting points: `tiny` for a quick check on CPU, `standard` for a real adapter, `thorough` for every projection. */
export const HYPERPARAMETER_PRESETS: Readonly<Record<string, Hyperparameters>> = {
  tiny: { format: HYPERPARAMETERS_FORMAT, rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"], learningRate: 1e-3, epochs: 1, batchSize: 4, sequenceLength: 64, seed: 1 },
  standard: { format: HYPERPARAMETERS_FORMAT, rank: 8, alpha: 16, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj"], learningRate: 5e-4, epochs: 3, batchSize: 8, sequenceLength: 128, seed: 1 },
  thorough: {
    format: HYPERPARAMETERS_FORMAT, rank: 16, alpha: 32, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    learningRate: 3e-4, epochs: 5, batchSize: 8, sequenceLength: 256, seed: 1,
  },
};

export class InvalidHyperparametersError extends Error {
  override name = "InvalidHyperparametersError";
  /** The offending field ("rank", "targetModules[1]", ...). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

const ajv = new Ajv({ allErrors: false, strict: true, strictTuples: false });
const validateShape = ajv.compile<Hyperparameters>(schema);

function fieldOf(error: ErrorObject): string {
  const parts = error.instancePath.split("/").slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`));
  if (error.keyword === "required") parts.push(`.${String(error.params.missingProperty)}`);
  if (error.keyword === "additionalProperties") parts.push(`.${String(error.params.additionalProperty)}`);
  return parts.join("").replace(/^\./, "") || "(document)";
}

/** Checks a document against the schema; throws naming the first bad field and what is allowed. */
export function validateHyperparameters(value: unknown, source = "hyper-parameters"): Hyperparameters {
  if (validateShape(value)) return value;
  const error = validateShape.errors![0];
  const field = fieldOf(error);
  const problem = error.keyword === "additionalProperties"
    ? "is not a hyper-parameter (allowed: rank, alpha, targetModules, learningRate, epochs, batchSize, sequenceLength, seed, format)"
    : error.keyword === "required"
      ? "is missing"
      : error.keyword === "enum"
        ? `must be one of ${(error.params.allowedValues as string[]).join(", ")}`
        : error.keyword === "const"
          ? `must be "${String(error.params.allowedValue)}"`
          : error.message ?? "is invalid";
  throw new InvalidHyperparametersError(field, `Invalid ${source}: ${field} ${problem}.`);
}

/** A preset by name, or an error listing the presets. */
export function hyperparameterPreset(name: string): Hyperparameters {
  const preset = HYPERPARAMETER_PRESETS[name];
  if (!preset) throw new InvalidHyperparametersError("preset", `Unknown preset "${name}"; presets are ${Object.keys(HYPERPARAMETER_PRESETS).join(", ")}.`);
  return structuredClone(preset);
}
