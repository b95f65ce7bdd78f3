import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { InjectOptions } from "fastify";
import { pino } from "pino";
import { ApiError } from "../../../nodes/src/api/errors.ts";
import { HealthChecks } from "../../../nodes/src/api/health.ts";
import { createMetrics } from "../../../nodes/src/api/metrics.ts";
import { ApiServer } from "../../../nodes/src/api/server.ts";

describe("node API server", () => {
  const health = new HealthChecks();
  let healthy = true;
  const server = new ApiServer({ host: "127.0.0.1", port: 0, logger: pino({ level: "silent" }), metrics: createMetrics(), health });

  before(async () => {
    health.add("storage", () => ({ ok: healthy, blocks: 3 }));
    // A module's routes, as storage or serving would add them.
    server.addRoutes("example", (app) => {
      app.post<{ Body: { name: string; size: number } }>("/things", {
        schema: { body: { type: "object", required: ["name", "size"], properties: { name: { type: "string" }, size: { type: "integer", minimum: 1 } } } },
      }, async (request) => ({ created: request.body.name }));
      app.get("/things/:id", async (request) => {
        const { id } = request.params as { id: string };
        if (id === "bad") throw new ApiError(422, "thing_unusable", "thing bad cannot be used", "id");
        throw new Error("a bug in a handler");
      });
    });
    await server.listen();
  });
  after(() => server.close());

  const inject = (options: InjectOptions) => server.app.inject(options);

  it("serves plugin routes and reports health checks, 503 when one fails", async () => {
    const created = await inject({ method: "POST", url: "/things", payload: { name: "a", size: 2 } });
    assert.equal(created.statusCode, 200);
    assert.deepEqual(created.json(), { created: "a" });
    assert.deepEqual((await inject({ url: "/health" })).json(), { status: "ok", checks: { storage: { ok: true, blocks: 3 } } });
    healthy = false;
    const degraded = await inject({ url: "/health" });
    assert.equal(degraded.statusCode, 503);
    assert.equal(degraded.json().status, "degraded");
    healthy = true;
  });

  it("answers bad input with 4xx JSON errors naming the field", async () => {
    const missing = await inject({ method: "POST", url: "/things", payload: { name: "a" } });
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { error: { code: "invalid_request", message: "body.size must have required property 'size'", field: "body.size" } });
    const tooSmall = await inject({ method: "POST", url: "/things", payload: { name: "a", size: 0 } });
    assert.equal(tooSmall.json().error.field, "body.size");
    const notJson = await inject({ method: "POST", url: "/things", headers: { "content-type": "application/json" }, payload: "{ nope" });
    assert.equal(notJson.statusCode, 400);
    assert.equal(typeof notJson.json().error.message, "string");
    const typed = await inject({ url: "/things/bad" });
    assert.deepEqual(typed.json(), { error: { code: "thing_unusable", message: "thing bad cannot be used", field: "id" } });
    assert.equal(typed.statusCode, 422);
  });

  it("turns a handler's bug into a 500 JSON error and keeps serving", async () => {
    const failed = await inject({ url: "/things/x" });
    assert.equal(failed.statusCode, 500);
    assert.deepEqual(failed.json(), { error: { code: "internal", message: "internal error; see the node's log" } });
    assert.equal((await inject({ url: "/health" })).statusCode, 200);
  });

  it("exposes request latency in /metrics", async () => {
    const metrics = (await inject({ url: "/metrics" })).body;
    assert.match(metrics, /tributary_http_request_duration_seconds_count\{method="POST",route="\/things",status="200"\} 1/);
    assert.match(metrics, /tributary_http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status="500"\} 1/);
  });

  it("refuses routes added after it listens", () => {
    assert.throws(() => server.addRoutes("late", () => undefined), /must be added before the API listens/);
  });
});
