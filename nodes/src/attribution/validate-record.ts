/**
 * Validates attribution records: first the checked-in JSON Schema (shape and ranges), then the
 * rules a schema cannot state (ordering, sums, spans inside the output). The first problem is
 * thrown as an InvalidRecordError whose message and details name the field.
 */
import { Ajv, type ErrorObject } from "ajv";
import schema from "./attribution-record.schema.json" with { type: "json" };
import type { AttributionRecord } from "./attribution-record.ts";
import { InvalidRecordError } from "./errors.ts";
import { PPM } from "./weights.ts";

const ajv = new Ajv({ allErrors: false, strict: true });
const validateShape = ajv.compile<AttributionRecord>(schema);

/** "/weights/0/ppm" -> "weights[0].ppm" */
function fieldName(error: ErrorObject): string {
  const parts = error.instancePath.split("/").slice(1);
  if (error.keyword === "required") parts.push(String(error.params.missingProperty));
  if (error.keyword === "additionalProperties") parts.push(String(error.params.additionalProperty));
  return parts.reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), "") || "(record)";
}

export function validateRecord(value: unknown): asserts value is AttributionRecord {
  if (!validateShape(value)) {
    const error = validateShape.errors![0];
    const field = fieldName(error);
    const problem = error.keyword === "additionalProperties" ? "is not a field of the record" : error.keyword === "required" ? "is missing" : error.message;
    throw new InvalidRecordError(`Invalid attribution record: ${field} ${problem}.`, { field, keyword: error.keyword, params: error.params });
  }
  const record = value;
  const fail = (field: string, problem: string): never => {
    throw new InvalidRecordError(`Invalid attribution record ${record.requestId}: ${field} ${problem}.`, { field, requestId: record.requestId });
  };

  let total = 0;
  record.weights.forEach((w, i) => {
    total += w.ppm;
    if (i > 0 && BigInt(record.weights[i - 1].contributionId) >= BigInt(w.contributionId)) {
      fail(`weights[${i}].contributionId`, "is not in ascending order (or repeats a contribution)");
    }
  });
  if (record.weights.length > 0 && total !== PPM) fail("weights", `sum to ${total} ppm instead of ${PPM}`);

  record.evidence.spans.forEach((span, i) => {
    const field = `evidence.spans[${i}]`;
    if (span.tokens.length !== span.length) fail(`${field}.tokens`, `holds ${span.tokens.length} tokens but length is ${span.length}`);
    if (span.length < record.parameters.minSpanLength) fail(`${field}.length`, `is shorter than minSpanLength ${record.parameters.minSpanLength}`);
    if (span.outputStart + span.length > record.output.tokenCount) fail(`${field}`, `ends past the output's ${record.output.tokenCount} tokens`);
    if (i > 0 && span.outputStart <= record.evidence.spans[i - 1].outputStart) fail(`${field}.outputStart`, "is not after the previous span's");
    span.contributions.forEach((c, j) => {
      if (j > 0 && BigInt(span.contributions[j - 1].contributionId) >= BigInt(c.contributionId)) {
        fail(`${field}.contributions[${j}].contributionId`, "is not in ascending order");
      }
    });
  });
  record.evidence.windows.forEach((group, i) => {
    const field = `evidence.windows[${i}]`;
    if (group.outputStart + group.windows - 1 + record.parameters.minSpanLength > record.output.tokenCount) fail(field, `ends past the output's ${record.output.tokenCount} tokens`);
    const previous = record.evidence.windows[i - 1];
    if (previous && group.outputStart < previous.outputStart + previous.windows) fail(`${field}.outputStart`, "overlaps the previous group");
    group.contributions.forEach((c, j) => {
      if (j > 0 && BigInt(group.contributions[j - 1].contributionId) >= BigInt(c.contributionId)) fail(`${field}.contributions[${j}].contributionId`, "is not in ascending order");
    });
  });
  if (record.evidence.gradient === null && record.parameters.gradientDims !== 0) fail("parameters.gradientDims", "must be 0 without gradient evidence");
  if (record.evidence.gradient && record.evidence.gradient.projection.dims !== record.parameters.gradientDims) {
    fail("evidence.gradient.projection.dims", `is ${record.evidence.gradient.projection.dims} but parameters.gradientDims is ${record.parameters.gradientDims}`);
  }
  record.evidence.gradient?.checkpoints.forEach((checkpoint, i) => {
    const floats = Buffer.from(checkpoint.outputGradient, "base64").length / 4;
    if (floats !== record.parameters.gradientDims) {
      fail(`evidence.gradient.checkpoints[${i}].outputGradient`, `holds ${floats} floats but gradientDims is ${record.parameters.gradientDims}`);
    }
  });
}
