/**
 * The node's HTTP API (Fastify). Core routes: `/health` and `/metrics`. Other modules add theirs through
 * `addRoutes(name, plugin)` before the server listens (storage gateway, jobs, serving). Every error is answered
 * as JSON `{ error: { code, message, field? } }`: 4xx for bad input (naming the field), 500 for the node's own
 * failures, which are logged and never crash the process.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { ApiError, type ErrorBody } from "./errors.ts";
import type { HealthChecks } from "./health.ts";
import type { NodeMetrics } from "./metrics.ts";

/** A module's routes; registered in its own Fastify plugin scope. */
export type RoutePlugin = (app: FastifyInstance) => void | Promise<void>;

export interface ApiServerOptions {
  host: string;
  port: number;
  logger: Logger;
  metrics: NodeMetrics;
  health: HealthChecks;
  /** Largest accepted request body. */
  bodyLimit?: number;
  /** Browser origins allowed to call the API (CORS); "*" allows any. */
  corsOrigins?: readonly string[];
}

/** Request headers a browser may send cross-origin: JSON bodies, a contribution's metadata, and a paid request's voucher. */
const CORS_ALLOWED_HEADERS = "content-type, authorization, x-contribution-metadata, x-tributary-voucher, accept, range";

function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

export class ApiServer {
  readonly app: FastifyInstance;
  readonly #options: ApiServerOptions;
  #listening = false;

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.app = Fastify({ loggerInstance: options.logger.child({ module: "api" }) as FastifyBaseLogger, disableRequestLogging: true, bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024 });
    const { app } = this;

    // CORS for the dApp: the allowed origins get their origin echoed; a preflight is answered here, before routing.
    const origins = new Set(options.corsOrigins ?? []);
    app.addHook("onRequest", async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !(origins.has("*") || origins.has(origin))) return;
      reply.header("access-control-allow-origin", origins.has("*") ? "*" : origin);
      reply.header("vary", "origin");
      reply.header("access-control-expose-headers", "content-length, content-range, retry-after, x-ipfs-path, x-ipfs-roots");
      if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
        reply.header("access-control-allow-methods", "GET, HEAD, POST, OPTIONS");
        reply.header("access-control-allow-headers", CORS_ALLOWED_HEADERS);
        reply.header("access-control-max-age", "600");
        return reply.code(204).send();
      }
    });

    app.addHook("onResponse", async (request, reply) => {
      const route = request.routeOptions.url ?? "unmatched";
      options.metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });

    app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
      if (error instanceof ApiError) return reply.status(error.statusCode).send(errorBody(error.code, error.message, error.field));
      if (error.validation) {
        const first = error.validation[0];
        const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
        const path = [error.validationContext, ...(first?.instancePath ?? "").split("/").filter(Boolean), missing].filter(Boolean).join(".");
        return reply.status(400).send(errorBody("invalid_request", `${path || "request"} ${first?.message ?? "is invalid"}`, path || undefined));
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) return reply.status(status).send(errorBody(error.code ?? "bad_request", error.message));
      request.log.error({ err: error }, "request failed");
      return reply.status(500).send(errorBody("internal", "internal error; see the node's log"));
    });
    app.setNotFoundHandler((request, reply) => reply.status(404).send(errorBody("not_found", `no route ${request.method} ${request.url.split("?")[0]}`)));

    app.get("/health", async (_request, reply) => {
      const report = await options.health.report();
      return reply.status(report.status === "ok" ? 200 : 503).send(report);
    });
    app.get("/metrics", async (_request, reply) => {
      reply.header("content-type", options.metrics.registry.contentType);
      return options.metrics.registry.metrics();
    });
  }

  /** Adds a module's routes; only before `listen`. */
  addRoutes(name: string, plugin: RoutePlugin): void {
    if (this.#listening) throw new Error(`routes "${name}" must be added before the API listens`);
    this.app.register(async (scope) => {
      await plugin(scope);
    });
  }

  /** Starts listening; resolves to the base URL. */
  async listen(): Promise<string> {
    this.#listening = true;
    await this.app.listen({ host: this.#options.host, port: this.#options.port });
    const address = this.app.server.address();
    const port = typeof address === "object" && address !== null ? address.port : this.#options.port;
    const host = this.#options.host.includes(":") ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${port}`;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
