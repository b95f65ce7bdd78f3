/**
 * Event streams taken over with hijack keep the headers hooks set on the reply: without the CORS header a browser on
 * the dApp's origin drops the job-progress and chat streams.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { hijackWithHeaders } from "../../../nodes/src/api/hijack.ts";

describe("hijackWithHeaders", () => {
  it("writes the headers set on the reply before the stream's own head", async () => {
    const app = Fastify();
    app.addHook("onRequest", async (_request, reply) => {
      reply.header("access-control-allow-origin", "http://127.0.0.1:5173");
    });
    app.get("/events", async (_request, reply) => {
      const res = hijackWithHeaders(reply);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("event: job\ndata: {}\n\n");
    });
    app.get("/plain-hijack", async (_request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/event-stream" });
      reply.raw.end("data: {}\n\n");
    });
    try {
      const response = await app.inject({ url: "/events", headers: { origin: "http://127.0.0.1:5173" } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers["access-control-allow-origin"], "http://127.0.0.1:5173");
      assert.equal(response.headers["content-type"], "text/event-stream");
      assert.equal(response.body, "event: job\ndata: {}\n\n");
      // What it fixes: a plain hijack drops them.
      const plain = await app.inject({ url: "/plain-hijack" });
      assert.equal(plain.headers["access-control-allow-origin"], undefined);
    } finally {
      await app.close();
    }
  });
});
