/** The jobs API: `GET /jobs`, `GET /jobs/:jobId` (with its artifacts), and `GET /jobs/:jobId/events` (server-sent progress). */
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../api/errors.ts";
import { hijackWithHeaders } from "../api/hijack.ts";
import type { JobRecord, NodeState } from "../state/index.ts";
import type { JobRunner, JobUpdate } from "./runner.ts";

/** A job as JSON: big numbers as decimal strings. */
export function jobJson(job: JobRecord): Record<string, unknown> {
  return JSON.parse(JSON.stringify(job, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as Record<string, unknown>;
}

function parseJobId(value: string): bigint {
  if (!/^[1-9]\d{0,77}$/.test(value)) throw new ApiError(400, "invalid_job_id", `jobId must be a positive integer, got "${value}"`, "jobId");
  return BigInt(value);
}

export function jobRoutes(state: NodeState, runner: JobRunner) {
  return (app: FastifyInstance): void => {
    // Event streams never end by themselves: end them when the server closes, or closing would wait for clients.
    const streams = new Set<ServerResponse>();
    app.addHook("preClose", async () => {
      for (const res of streams) res.end();
    });

    app.get("/jobs", async () => ({ jobs: state.jobs.list().map(jobJson) }));

    app.get<{ Params: { jobId: string } }>("/jobs/:jobId", async (request) => {
      const job = state.jobs.get(parseJobId(request.params.jobId));
      if (!job) throw new ApiError(404, "job_not_found", `this node has no record of job ${request.params.jobId}`, "jobId");
      return { job: jobJson(job), progress: runner.latestProgress(job.jobId) ?? null, artifacts: state.artifacts.forJob(job.jobId) };
    });

    app.get<{ Params: { jobId: string } }>("/jobs/:jobId/events", async (request, reply) => {
      const jobId = parseJobId(request.params.jobId);
      const job = state.jobs.get(jobId);
      if (!job) throw new ApiError(404, "job_not_found", `this node has no record of job ${request.params.jobId}`, "jobId");
      const res = hijackWithHeaders(reply);
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      const send = (event: string, data: unknown): void => {
        res.write(`event: ${event}\ndata: ${JSON.stringify(data, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n\n`);
      };
      send("job", jobJson(job));
      const onUpdate = (update: JobUpdate): void => {
        if (update.jobId !== jobId) return;
        send(update.progress ? "progress" : "job", update.progress ? update.progress : jobJson(state.jobs.get(jobId)!));
      };
      runner.on("update", onUpdate);
      streams.add(res);
      request.raw.once("close", () => {
        runner.off("update", onUpdate);
        streams.delete(res);
      });
    });
  };
}
