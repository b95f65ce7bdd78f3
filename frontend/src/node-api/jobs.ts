/**
 * The node's training-job API: `POST /v1/hyperparameters` stores a job's hyper-parameter document on the node's
 * IPFS (checked by the node against the same schema) and answers its CID; `GET /jobs/:jobId/events` streams a job's
 * progress as server-sent events.
 */
import type { Hyperparameters } from "../lib/hyperparameters.ts";
import { NodeRejectedError, NodeUnreachableError } from "./contributions.ts";

export async function uploadHyperparameters(nodeUrl: string, document: Hyperparameters, fetcher: typeof fetch = fetch): Promise<string> {
  let response: Response;
  try {
    response = await fetcher(new URL("/v1/hyperparameters", nodeUrl), { method: "POST", body: JSON.stringify(document), headers: { "Content-Type": "application/json" } });
  } catch (error) {
    throw new NodeUnreachableError(nodeUrl, error);
  }
  const body = (await response.json().catch(() => null)) as { cid?: unknown; error?: { code?: string; message?: string; field?: string } } | null;
  if (!response.ok) throw new NodeRejectedError(response.status, body?.error?.code ?? "", body?.error?.message ?? response.statusText, body?.error?.field);
  if (typeof body?.cid !== "string") throw new NodeRejectedError(response.status, "bad_response", "the answer has no cid; is this a Tributary node?");
  return body.cid;
}

/** The subset of EventSource the stream needs, so tests can pass their own. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
  onerror: ((event: Event) => void) | null;
}

/**
 * Follows a job's events; `onEvent(name, data)` gets each `job` and `progress` event decoded, `onError` is told
 * when the node cannot be reached (the browser's EventSource reconnects by itself). Returns a function that stops.
 */
export function watchJobEvents(
  nodeUrl: string,
  jobId: bigint,
  onEvent: (event: "job" | "progress", data: unknown) => void,
  onError: () => void,
  open: (url: string) => EventSourceLike = (url) => new EventSource(url),
): () => void {
  const source = open(new URL(`/jobs/${jobId}/events`, nodeUrl).toString());
  for (const name of ["job", "progress"] as const) {
    source.addEventListener(name, (event) => {
      try {
        onEvent(name, JSON.parse(String(event.data)));
      } catch {
        // A malformed event is skipped; the next one carries the full state again.
      }
    });
  }
  source.onerror = () => onError();
  return () => source.close();
}
