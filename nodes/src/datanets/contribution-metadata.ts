/**
 * A contribution's metadata document (contribution-metadata.schema.json): what the content is, under
 * which licence, in which language, and the CID of the bytes. The first schema violation is thrown
 * as an InvalidContributionError naming the field.
 */
import { Ajv, type ErrorObject } from "ajv";
import schema from "./contribution-metadata.schema.json" with { type: "json" };
import { InvalidContributionError } from "./errors.ts";

export const CONTRIBUTION_METADATA_FORMAT = "tributary.contribution-metadata/1";
export const CONTRIBUTION_MEDIA_TYPES = ["text/plain", "application/jsonl", "text/markdown"] as const;
export type ContributionMediaType = (typeof CONTRIBUTION_MEDIA_TYPES)[number];

export interface ContributionMetadata {
  format: typeof CONTRIBUTION_METADATA_FORMAT;
  /** CID of the content bytes. */
  content: string;
  title: string;
  licence: string;
  mediaType: ContributionMediaType;
  byteSize: number;
  /** BCP 47 tag. */
  language: string;
  description?: string;
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validateShape = ajv.compile<ContributionMetadata>(schema);

function fieldName(error: ErrorObject): string {
  const parts = error.instancePath.split("/").slice(1);
  if (error.keyword === "required") parts.push(String(error.params.missingProperty));
  if (error.keyword === "additionalProperties") parts.push(String(error.params.additionalProperty));
  return parts.join(".") || "metadata";
}

export function validateContributionMetadata(value: unknown): asserts value is ContributionMetadata {
  if (validateShape(value)) return;
  const error = validateShape.errors![0];
  const field = fieldName(error);
  const problem =
    error.keyword === "additionalProperties"
      ? "is not a metadata field"
      : error.keyword === "required"
        ? "is missing"
        : error.keyword === "enum"
          ? `must be one of ${(error.params.allowedValues as string[]).join(", ")}`
          : error.keyword === "pattern" && field === "language"
            ? "must be a BCP 47 language tag such as en or pt-BR"
            : error.message;
  throw new InvalidContributionError("invalid_metadata", field, `Contribution metadata: ${field} ${problem}.`, { keyword: error.keyword, params: error.params });
}
