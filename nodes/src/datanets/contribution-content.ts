/**
 * What a Datanet accepts as contribution bytes: UTF-8 text as plain text, Markdown or JSON Lines, up
 * to a size limit. Checked before anything is stored, so a bad upload costs nothing and the error
 * says exactly what to fix (which line of a JSONL file, which byte of a broken UTF-8 sequence).
 */
import { CONTRIBUTION_MEDIA_TYPES, type ContributionMediaType } from "./contribution-metadata.ts";
import { InvalidContributionError } from "./errors.ts";

/** Default size limit of one contribution (the registry's per-Datanet `maxBytes` may be lower). */
export const DEFAULT_MAX_CONTRIBUTION_BYTES = 16 * 1024 * 1024;

/**
 * Reads a Content-Type header ("text/markdown; charset=utf-8") as a contribution media type.
 * Throws for other types and for a charset other than UTF-8.
 */
export function parseContributionMediaType(contentType: string | undefined): ContributionMediaType {
  const [type, ...params] = (contentType ?? "").split(";").map((part) => part.trim().toLowerCase());
  if (!type) {
    throw new InvalidContributionError("missing_content_type", "content-type", `Send the file with a Content-Type header: one of ${CONTRIBUTION_MEDIA_TYPES.join(", ")}.`);
  }
  const mediaType = type === "text/x-markdown" ? "text/markdown" : type;
  if (!(CONTRIBUTION_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    throw new InvalidContributionError("unsupported_media_type", "content-type", `Content type ${type} is not accepted; contributions are ${CONTRIBUTION_MEDIA_TYPES.join(", ")}.`, { contentType: type });
  }
  for (const param of params) {
    const [key, value] = param.split("=").map((s) => s.trim().replace(/^"|"$/g, ""));
    if (key === "charset" && value !== "utf-8" && value !== "utf8") {
      throw new InvalidContributionError("unsupported_charset", "content-type", `Charset ${value} is not accepted; contributions are UTF-8.`, { charset: value });
    }
  }
  return mediaType as ContributionMediaType;
}

/** Validates contribution bytes and returns them decoded. */
export function validateContributionContent(bytes: Uint8Array, mediaType: ContributionMediaType, maxBytes = DEFAULT_MAX_CONTRIBUTION_BYTES): string {
  if (bytes.byteLength === 0) throw new InvalidContributionError("empty", "body", "The contribution is empty.");
  if (bytes.byteLength > maxBytes) {
    throw new InvalidContributionError("too_large", "body", `The contribution is ${bytes.byteLength} bytes; the limit is ${maxBytes}.`, { byteSize: bytes.byteLength, maxBytes });
  }
  const text = decodeUtf8(bytes);
  const control = /[\u0000-\u0008\u000B\u000E-\u001F\u007F]/.exec(text);
  if (control) {
    const { line, column } = position(text, control.index);
    throw new InvalidContributionError(
      "binary_content",
      "body",
      `The contribution contains control character U+${control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()} at line ${line}, column ${column}; contributions are text.`,
      { line, column },
    );
  }
  if (mediaType === "application/jsonl") validateJsonLines(text);
  return text;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    throw new InvalidContributionError("invalid_utf8", "body", `The contribution is not valid UTF-8 (first bad byte at offset ${offset}).`, { offset });
  }
}

/** JSON Lines: every line one JSON value; a final newline is allowed, blank lines are not. */
function validateJsonLines(text: string): void {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === "") throw new InvalidContributionError("invalid_jsonl", "body", `JSON Lines: line ${i + 1} is blank; every line must hold one JSON value.`, { line: i + 1 });
    try {
      JSON.parse(line);
    } catch (err) {
      throw new InvalidContributionError("invalid_jsonl", "body", `JSON Lines: line ${i + 1} is not JSON (${(err as Error).message}).`, { line: i + 1 });
    }
  });
}

function position(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const line = before.split("\n").length;
  return { line, column: index - before.lastIndexOf("\n") };
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence. */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    try {
      decoder.decode(bytes.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return bytes.length;
}
