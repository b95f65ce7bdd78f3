/**
 * The node's training-job API: `POST /v1/hyperparameters` stores a job's hyper-parameter document on the node's
 * IPFS (checked by the node against the same schema) and answers its CID (`POST /v1/documents` where the node lacks
 * that route); `GET /jobs/:jobId/events` streams a job's
 * progress as server-sent events.
 */
import type { Hyperparameters } from "../lib/hyperparameters.ts";
import { cidAnswer, jsonPost, requestNode } from "./node-request.ts";

export async function uploadHyperparameters(nodeUrl: string, document: Hyperparameters, fetcher: typeof fetch = fetch): Promise<string> {
  const post = (path: string) => requestNode(nodeUrl, path, jsonPost(document), fetcher);
  let response = await post("/v1/hyperparameters");
  // A node without the checked route stores it as a plain document (it carries its format); the node that takes
  // the job checks it against the schema either way, and the form already did.
  if (response.status === 404) response = await post("/v1/documents");
  return (await cidAnswer(response)).cid;
}

/** The subset of EventSource the stream needs, so tests can pass their own. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
  onerror: ((event: Event) => void) | null;
  /** 2 (CLOSED) once the browser gave up on the stream. */
  readonly readyState?: number;
}

/** How long to wait before asking again for a stream the node refused (it has no record of the job yet). */
export const REOPEN_AFTER_MS = 2_000;

/**
 * Follows a job's events; `onEvent(name, data)` gets each `job` and `progress` event decoded, `onError` is told
 * when the node cannot be reached or has no record of the job. The browser's EventSource reconnects by itself after
 * a dropped connection, but gives up for good on an HTTP error (the node answers 404 until it has seen the job,
 * which is the case right after the job is created): then the stream is opened again after `reopenAfterMs`.
 * Returns a function that stops.
 */
export function watchJobEvents(
  nodeUrl: string,
  jobId: bigint,
  onEvent: (event: "job" | "progress", data: unknown) => void,
  onError: () => void,
  open: (url: string) => EventSourceLike = (url) => new EventSource(url),
  reopenAfterMs = REOPEN_AFTER_MS,
): () => void {
  const url = new URL(`/jobs/${jobId}/events`, nodeUrl).toString();
  let source: EventSourceLike;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const connect = () => {
    source = open(url);
    for (const name of ["job", "progress"] as const) {
      source.addEventListener(name, (event) => {
        try {
          onEvent(name, JSON.parse(String(event.data)));
        } catch {
          // A malformed event is skipped; the next one carries the full state again.
        }
      });
    }
    source.onerror = () => {
      onError();
      if (source.readyState !== 2 || stopped) return;
      source.close();
      timer = setTimeout(() => {
        if (!stopped) connect();
      }, reopenAfterMs);
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source.close();
  };
}
