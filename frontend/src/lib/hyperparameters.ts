/**
 * The ModelFactory's hyper-parameter form. The document, its schema and its presets are the node's own
 * (nodes/src/jobs/hyperparameters.ts): the dApp checks exactly what the node will check when it takes the job, so a
 * document that passes here cannot fail the job for its shape.
 */
import {
  HYPERPARAMETER_PRESETS,
  HYPERPARAMETERS_FORMAT,
  HYPERPARAMETERS_SCHEMA,
  InvalidHyperparametersError,
  validateHyperparameters,
  type Hyperparameters,
  type LoraTargetModule,
} from "../../../nodes/src/jobs/hyperparameters.ts";

export { HYPERPARAMETER_PRESETS, type Hyperparameters, type LoraTargetModule };

export const TARGET_MODULES: readonly LoraTargetModule[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** The numeric fields as the user types them (strings, so a half-typed "0." is kept). */
export type NumericField = "rank" | "alpha" | "learningRate" | "epochs" | "batchSize" | "sequenceLength" | "seed";
export const NUMERIC_FIELDS: readonly NumericField[] = ["rank", "alpha", "learningRate", "epochs", "batchSize", "sequenceLength", "seed"];

export type HyperparameterForm = Record<NumericField, string> & { targetModules: LoraTargetModule[] };

export type HyperparameterErrors = Partial<Record<NumericField | "targetModules", string>>;

export function formFromPreset(name: string): HyperparameterForm {
  const preset = HYPERPARAMETER_PRESETS[name];
  if (!preset) throw new Error(`Unknown preset "${name}"; presets are ${Object.keys(HYPERPARAMETER_PRESETS).join(", ")}.`);
  return {
    ...(Object.fromEntries(NUMERIC_FIELDS.map((field) => [field, String(preset[field])])) as Record<NumericField, string>),
    targetModules: [...preset.targetModules],
  };
}

/** The preset the form still equals, or undefined once the user changed something. */
export function matchingPreset(form: HyperparameterForm): string | undefined {
  return Object.keys(HYPERPARAMETER_PRESETS).find((name) => {
    const preset = formFromPreset(name);
    return NUMERIC_FIELDS.every((f) => Number(form[f]) === Number(preset[f])) && sameModules(form.targetModules, preset.targetModules);
  });
}

function sameModules(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m) => b.includes(m));
}

/**
 * Checks every field, each on its own: the schema validator stops at the first error, so each field is checked
 * inside an otherwise valid document and every bad field gets its own message while the user types.
 */
export function validateHyperparameterForm(form: HyperparameterForm): { document: Hyperparameters } | { errors: HyperparameterErrors } {
  const errors: HyperparameterErrors = {};
  const base: Hyperparameters = structuredClone(HYPERPARAMETER_PRESETS.standard);
  const document: Record<string, unknown> = { format: HYPERPARAMETERS_FORMAT };
  for (const field of NUMERIC_FIELDS) {
    const text = form[field].trim();
    const value = text === "" ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) {
      errors[field] = text === "" ? "Required." : "Enter a number.";
      continue;
    }
    const message = checkAlone({ ...base, [field]: value });
    if (message) errors[field] = message;
    document[field] = value;
  }
  const modules = TARGET_MODULES.filter((m) => form.targetModules.includes(m));
  if (modules.length === 0) errors.targetModules = "Choose at least one projection to adapt.";
  document.targetModules = modules;
  if (Object.keys(errors).length > 0) return { errors };
  return { document: validateHyperparameters(document) };
}

function checkAlone(candidate: unknown): string | undefined {
  try {
    validateHyperparameters(candidate);
    return undefined;
  } catch (error) {
    if (!(error instanceof InvalidHyperparametersError)) throw error;
    const limits = schemaLimits(error.field);
    return limits ?? error.message.replace(/^Invalid hyper-parameters: /, "");
  }
}

/** "Must be a whole number from 1 to 256." from the schema itself, so the message names the allowed range. */
function schemaLimits(field: string): string | undefined {
  const properties = (HYPERPARAMETERS_SCHEMA_PROPERTIES as Record<string, { type?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number }>)[field];
  if (!properties || properties.maximum === undefined) return undefined;
  const whole = properties.type === "integer" ? "a whole number" : "a number";
  if (properties.exclusiveMinimum !== undefined) return `Must be ${whole} above ${properties.exclusiveMinimum} and at most ${properties.maximum}.`;
  return `Must be ${whole} from ${properties.minimum} to ${properties.maximum}.`;
}

const HYPERPARAMETERS_SCHEMA_PROPERTIES = HYPERPARAMETERS_SCHEMA.properties;

/**
 * Training steps and a rough time: a token is about 4 bytes of English text; an optimizer step over
 * batchSize × sequenceLength tokens took ~1.5 s per 1,024 tokens on the reference CPU node (2 cores, WASM kernels),
 * scaled by the number of adapted projections relative to the four of the `standard` preset. The node's live ETA
 * replaces this once the job runs.
 */
export function estimateTraining(document: Hyperparameters, datasetBytes: number): { steps: number; seconds: number; tokens: number } {
  const tokens = Math.max(1, Math.round(datasetBytes / 4));
  const tokensPerStep = document.batchSize * document.sequenceLength;
  const steps = document.epochs * Math.max(1, Math.ceil(tokens / tokensPerStep));
  const seconds = Math.ceil(steps * (tokensPerStep / 1024) * 1.5 * (document.targetModules.length / 4) * Math.max(1, document.rank / 8) ** 0.25);
  return { steps, seconds, tokens };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "unknown";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}
