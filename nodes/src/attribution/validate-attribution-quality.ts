/**
 * Validates the attribution section of an evaluation report against the checked-in JSON Schema
 * (attribution-quality.schema.json): the measured form or the unmeasured one, chosen by `measured`, so the
 * first problem is named in the form the section claims to be. Throws InvalidAttributionQualityError naming the field.
 */
import { Ajv, type ErrorObject } from "ajv";
import schema from "./attribution-quality.schema.json" with { type: "json" };
import type { AttributionQualityOutcome } from "./attribution-quality-report.ts";
import { InvalidAttributionQualityError } from "./errors.ts";

const ajv = new Ajv({ allErrors: false, strict: true });
const [measured, unmeasured] = schema.oneOf.map((branch) => ajv.compile({ definitions: schema.definitions, ...branch }));

/** "/generated/span/top1Accuracy" -> "generated.span.top1Accuracy" */
function fieldName(error: ErrorObject): string {
  const parts = error.instancePath.split("/").slice(1);
  if (error.keyword === "required") parts.push(String(error.params.missingProperty));
  if (error.keyword === "additionalProperties") parts.push(String(error.params.additionalProperty));
  return parts.join(".") || "(section)";
}

export function validateAttributionQuality(value: unknown): asserts value is AttributionQualityOutcome {
  if (value === null || typeof value !== "object") throw new InvalidAttributionQualityError("Invalid attribution section: not a JSON object.", { field: "(section)" });
  const validate = (value as { measured?: unknown }).measured === false ? unmeasured : measured;
  if (!validate(value)) {
    const error = validate.errors![0];
    const field = fieldName(error);
    const problem = error.keyword === "additionalProperties" ? "is not a field of the section" : error.keyword === "required" ? "is missing" : error.message;
    throw new InvalidAttributionQualityError(`Invalid attribution section: ${field} ${problem}.`, { field, keyword: error.keyword, params: error.params });
  }
}
