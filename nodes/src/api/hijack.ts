/**
 * Taking over a reply's raw response (server-sent event streams): Fastify's `reply.hijack()` leaves the headers set
 * on the reply unwritten, the CORS headers of the onRequest hook among them, and without those a browser on the
 * dApp's origin drops the stream. `hijackWithHeaders` copies them onto the raw response first.
 */
import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";

export function hijackWithHeaders(reply: FastifyReply): ServerResponse {
  const headers = reply.getHeaders();
  reply.hijack();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) reply.raw.setHeader(name, value);
  }
  return reply.raw;
}
