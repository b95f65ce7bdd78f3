/**
 * HTTP routes of the storage and Datanet data layers, as a Fastify plugin the node's server
 * registers (`registerStorageRoutes(app, deps)`):
 *
 *   POST /v1/contributions   the file as the raw request body, its type in Content-Type
 *                            (text/plain, application/jsonl, text/markdown; UTF-8), its metadata
 *                            in the `X-Contribution-Metadata` header as URI-encoded JSON
 *                            ({ title, licence, language, description? }); answers 201 with
 *                            { cid, digest, byteSize, metadataCid, metadata }: the arguments of
 *                            DatanetRegistry.contribute. A browser sends it with
 *                            fetch(url, { method: "POST", body: file, headers: { "Content-Type": file.type,
 *                            "X-Contribution-Metadata": encodeURIComponent(JSON.stringify(meta)) } }).
 *   POST /v1/documents       a small JSON document (Content-Type application/json, at most 64 KiB): an
 *                            object whose string `format` names its kind (e.g. "tributary.job-dispute/1");
 *                            stored as IPFS JSON and answered 201 { cid }. The dApp puts the evidence of a
 *                            job-result dispute here (ModelRegistry.disputeJobResult's reasonCid).
 *   GET  /ipfs/<cid>[/path]  a verified gateway (@helia/verified-fetch over the node's store):
 *                            content types, Range, and raw blocks / CAR through Accept.
 *
 * Every failure answers `{ error: { code, message, field } }` with a 4xx naming the problem (5xx
 * only for the node's own faults); the routes live in their own encapsulated context, so their body
 * parsers and error handler do not touch the rest of the server.
 */
import { Readable } from "node:stream";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { DEFAULT_MAX_CONTRIBUTION_BYTES, parseContributionMediaType } from "../datanets/contribution-content.ts";
import { DatanetDataError, InvalidContributionError } from "../datanets/errors.ts";
import { prepareContribution, type ContributionDescription } from "../datanets/prepare-contribution.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { ContentUnavailableError, InvalidCidError } from "../storage/errors.ts";
import { parseCid } from "../storage/helia-store.ts";
import { ApiError, type ErrorBody } from "./errors.ts";

export const CONTRIBUTION_METADATA_HEADER = "x-contribution-metadata";

/** Largest JSON document `POST /v1/documents` stores. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

export interface StorageRouteDeps {
  store: ContentStore;
  /** Largest accepted contribution; default 16 MiB. Larger bodies get 413 before they are read whole. */
  maxContributionBytes?: number;
  /** How long the gateway looks for content it does not hold before answering 404; default 10 s. */
  gatewayTimeoutMs?: number;
}

/** Forwarded to verified-fetch: content negotiation, ranges and caching. */
const GATEWAY_REQUEST_HEADERS = ["accept", "range", "if-none-match", "if-modified-since"];
/** Returned to the client from verified-fetch's response. */
const GATEWAY_RESPONSE_HEADERS = ["content-type", "content-length", "content-range", "accept-ranges", "etag", "cache-control", "x-ipfs-path", "x-ipfs-roots", "content-disposition", "vary"];

export async function registerStorageRoutes(app: FastifyInstance, deps: StorageRouteDeps): Promise<void> {
  const maxBytes = deps.maxContributionBytes ?? DEFAULT_MAX_CONTRIBUTION_BYTES;
  const gatewayTimeoutMs = deps.gatewayTimeoutMs ?? 10_000;

  await app.register(async (scope) => {
    // Contributions arrive as raw bytes of any declared type; the handler decides what is accepted,
    // so an unsupported type gets our error rather than Fastify's.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: maxBytes }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error, request, reply) => sendError(error as Error, request, reply, maxBytes));

    scope.post("/v1/contributions", async (request, reply) => {
      const mediaType = parseContributionMediaType(request.headers["content-type"]);
      const body = request.body;
      if (!Buffer.isBuffer(body)) throw new InvalidContributionError("empty", "body", "The contribution is empty: send the file as the request body.");
      const description = parseMetadataHeader(request.headers[CONTRIBUTION_METADATA_HEADER]);
      const prepared = await prepareContribution(deps.store, new Uint8Array(body.buffer, body.byteOffset, body.byteLength), mediaType, description, maxBytes);
      return reply.code(201).send(prepared);
    });

    scope.post("/v1/documents", async (request, reply) => {
      const document = parseDocument(request.headers["content-type"], request.body);
      const cid = await deps.store.addJson(document);
      return reply.code(201).send({ cid: cid.toString() });
    });

    const gateway = async (request: FastifyRequest<{ Params: { cid: string; "*"?: string } }>, reply: FastifyReply) => {
      const cid = parseCid(request.params.cid);
      const path = request.params["*"] ?? "";
      const headers: Record<string, string> = {};
      for (const name of GATEWAY_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const signal = AbortSignal.timeout(gatewayTimeoutMs);
      const held = await deps.store.has(cid);
      let response: Response;
      try {
        response = await deps.store.gatewayFetch(`ipfs://${cid}/${path}`, { headers, signal });
      } catch (err) {
        if (signal.aborted || !held) throw notFound(cid.toString(), gatewayTimeoutMs);
        throw err;
      }
      if (response.status >= 400) {
        // verified-fetch answers 502/504 when no block came; for a root we do not hold, that is a 404
        if (signal.aborted || (!held && (response.status === 502 || response.status === 504))) throw notFound(cid.toString(), gatewayTimeoutMs);
        const text = await response.text().catch(() => "");
        const status = response.status === 501 ? 400 : response.status;
        throw new ApiError(status, status === 404 ? "not_found" : status === 406 ? "not_acceptable" : "gateway_error", `${cid}/${path}: ${text || response.statusText}`.trim(), status === 406 ? "accept" : "cid");
      }
      reply.code(response.status);
      for (const name of GATEWAY_RESPONSE_HEADERS) {
        const value = response.headers.get(name);
        if (value !== null) reply.header(name, value);
      }
      reply.header("x-content-type-options", "nosniff");
      if (response.body === null || request.method === "HEAD") return reply.send();
      return reply.send(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream));
    };
    scope.get("/ipfs/:cid", gateway);
    scope.get("/ipfs/:cid/*", gateway);
  });
}

/** A document upload's body as a JSON object with a string `format`; throws an ApiError naming the problem. */
function parseDocument(contentType: string | undefined, body: unknown): Record<string, unknown> {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? "")) {
    throw new ApiError(415, "unsupported_media_type", `Send the document as application/json (got ${contentType ?? "no Content-Type"}).`, "content-type");
  }
  if (!Buffer.isBuffer(body) || body.byteLength === 0) throw new ApiError(400, "empty", "The document is empty: send a JSON object as the request body.", "body");
  if (body.byteLength > MAX_DOCUMENT_BYTES) throw new ApiError(413, "too_large", `The document is ${body.byteLength} bytes; the limit is ${MAX_DOCUMENT_BYTES}.`, "body");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new ApiError(400, "invalid_json", `The body is not JSON: ${(err as Error).message}.`, "body");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new ApiError(400, "invalid_document", "The document must be a JSON object.", "body");
  const format = (parsed as Record<string, unknown>).format;
  if (typeof format !== "string" || !/^[a-z0-9.-]+\/\d+$/.test(format)) {
    throw new ApiError(400, "invalid_document", 'The document needs a string "format" naming its kind and version, like "tributary.job-dispute/1".', "format");
  }
  return parsed as Record<string, unknown>;
}

function parseMetadataHeader(value: string | string[] | undefined): ContributionDescription {
  const field = CONTRIBUTION_METADATA_HEADER;
  if (typeof value !== "string" || value === "") {
    throw new InvalidContributionError("missing_metadata", field, `Send the contribution's metadata in the ${field} header: URI-encoded JSON { title, licence, language, description? }.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeURIComponent(value));
  } catch (err) {
    throw new InvalidContributionError("invalid_metadata", field, `The ${field} header is not URI-encoded JSON: ${(err as Error).message}.`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InvalidContributionError("invalid_metadata", field, `The ${field} header must hold a JSON object { title, licence, language, description? }.`);
  }
  for (const key of ["format", "content", "mediaType", "byteSize"]) {
    if (key in parsed) throw new InvalidContributionError("invalid_metadata", key, `Metadata field ${key} is set by the node from the upload; leave it out.`);
  }
  return parsed as ContributionDescription;
}

function notFound(cid: string, timeoutMs: number): ApiError {
  return new ApiError(404, "not_found", `${cid} is not stored on this node and no connected peer supplied it within ${timeoutMs} ms.`, "cid");
}

const CONTRIBUTION_STATUS: Record<string, number> = {
  missing_content_type: 415,
  unsupported_media_type: 415,
  unsupported_charset: 415,
  too_large: 413,
};

function sendError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, maxBytes: number) {
  let status: number;
  let body: ErrorBody["error"];
  if (error instanceof ApiError) {
    status = error.statusCode;
    body = { code: error.code, message: error.message, field: error.field };
  } else if (error instanceof DatanetDataError) {
    status = CONTRIBUTION_STATUS[error.code] ?? 400;
    body = { code: error.code, message: error.message, field: error.field };
  } else if (error instanceof InvalidCidError) {
    status = 400;
    body = { code: "invalid_cid", message: error.message, field: "cid" };
  } else if (error instanceof ContentUnavailableError) {
    status = 404;
    body = { code: "not_found", message: error.message, field: "cid" };
  } else if ((error as FastifyError).code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    status = 413;
    body = { code: "too_large", message: `The request body is over the ${maxBytes}-byte limit for a contribution.`, field: "body" };
  } else if ((error as FastifyError).code === "FST_ERR_CTP_EMPTY_JSON_BODY" || (error as FastifyError).code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    status = 415;
    body = { code: "unsupported_media_type", message: error.message, field: "content-type" };
  } else if (typeof (error as FastifyError).statusCode === "number" && (error as FastifyError).statusCode! < 500) {
    status = (error as FastifyError).statusCode!;
    body = { code: ((error as FastifyError).code ?? "bad_request").toLowerCase(), message: error.message };
  } else {
    request.log.error({ err: error }, "storage route failed");
    status = 500;
    body = { code: "internal", message: `The node failed to handle this request: ${error.message}` };
  }
  return reply.code(status).type("application/json").send({ error: body } satisfies ErrorBody);
}
