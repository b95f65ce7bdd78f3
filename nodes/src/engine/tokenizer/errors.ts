/** Errors for tokenizers and chat templates: a readable message plus the values that explain it (viem style). */
export class TokenizerError extends Error {
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** tokenizer.json / tokenizer_config.json is malformed or uses something the library cannot load. */
export class TokenizerConfigError extends TokenizerError {}

/** A chat template failed to parse or render, or a message is malformed. */
export class ChatTemplateError extends TokenizerError {}

/** The BPE trainer was given settings or text it cannot train on. */
export class BpeTrainingError extends TokenizerError {}
