/**
 * Errors for the engine's file formats (safetensors, Hugging Face config.json, model folders, PEFT adapters).
 * viem style: a readable message, the values that explain the failure attached as `details`,
 * and one class per kind of failure so callers can branch on `instanceof`.
 */
export class FormatError extends Error {
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The bytes are not a well-formed safetensors file (header, offsets, sizes). */
export class SafetensorsFormatError extends FormatError {}

/** A tensor is stored in a dtype the engine cannot turn into float32. */
export class UnsupportedDtypeError extends FormatError {
  readonly tensor: string;
  readonly dtype: string;

  constructor(tensor: string, dtype: string) {
    super(`tensor "${tensor}" has dtype ${dtype}; only F32, F16 and BF16 are supported`, { tensor, dtype });
    this.tensor = tensor;
    this.dtype = dtype;
  }
}

/** A config file's field is missing, has the wrong type, or asks for something the engine does not implement. */
export class ConfigFieldError extends FormatError {
  readonly field: string;

  constructor(field: string, problem: string, value?: unknown) {
    super(`config field "${field}" ${problem}`, { field, value });
    this.field = field;
  }
}

/** A checkpoint's or adapter's tensor is missing, unexpected, or has the wrong shape for the config. */
export class TensorMismatchError extends FormatError {
  readonly tensor: string;

  constructor(tensor: string, problem: string, details: Record<string, unknown> = {}) {
    super(`tensor "${tensor}" ${problem}`, { tensor, ...details });
    this.tensor = tensor;
  }
}

/** A file that a model folder or adapter needs is missing or is not what it should be. */
export class FolderFileError extends FormatError {
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`, { path });
    this.path = path;
  }
}

/** Bytes that are not a well-formed GGUF file, or a GGUF file the writer was asked to produce wrongly. */
export class GgufFormatError extends FormatError {}

/** A model or adapter that has no faithful GGUF form (a tokenizer or setting llama.cpp would read differently). */
export class GgufExportError extends FormatError {}
