/** Reads a settlement batch file's JSON, checked against the tributary.batch/1 schema. */
import { Ajv } from "ajv";
import schema from "./settlement-batch.schema.json" with { type: "json" };
import { InvalidBatchInputError } from "./errors.ts";
import type { SettlementBatch } from "./settlement-batch.ts";

const validate = new Ajv({ strict: true }).compile<SettlementBatch>(schema);

export function parseBatch(json: unknown, source = "batch"): SettlementBatch {
  if (!validate(json)) {
    const error = validate.errors![0];
    const field = error.instancePath.replace(/^\//, "").replaceAll("/", ".") || "(batch)";
    const detail = error.keyword === "required" ? `misses ${error.params.missingProperty}` : error.message;
    throw new InvalidBatchInputError(`Invalid settlement batch (${source}): ${field} ${detail}.`, { source, field, keyword: error.keyword });
  }
  return json;
}
