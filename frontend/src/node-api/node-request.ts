/**
 * Requests to a node's JSON API and the errors they end in: the node did not answer (NodeUnreachableError), or it
 * refused, with the code, message and field of its JSON error (`{ error: { code, message, field? } }`,
 * nodes/src/api/errors.ts) when it sent one (NodeRejectedError).
 */

export class NodeUnreachableError extends Error {
  constructor(nodeUrl: string, cause: unknown) {
    super(`The node at ${nodeUrl} did not answer: start one (tributary-node) or set its URL in Settings.`, { cause });
    this.name = "NodeUnreachableError";
  }
}

export class NodeRejectedError extends Error {
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(`The node refused the upload (${status}${code ? ` ${code}` : ""}): ${message}`);
    this.name = "NodeRejectedError";
    this.code = code;
    this.field = field;
  }
}

/** Sends `init` to `path` on the node; NodeUnreachableError when it does not answer. */
export async function requestNode(nodeUrl: string, path: string, init: RequestInit | undefined, fetcher: typeof fetch): Promise<Response> {
  try {
    return await fetcher(new URL(path, nodeUrl), init);
  } catch (error) {
    throw new NodeUnreachableError(nodeUrl, error);
  }
}

/** A POST of `body` as JSON. */
export function jsonPost(body: unknown): RequestInit {
  return { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
}

/** The node's refusal as an error: its JSON error's code, message and field when the body holds one, else the HTTP status text. */
export async function rejectionOf(response: Response): Promise<NodeRejectedError> {
  const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string; field?: string } } | null;
  return new NodeRejectedError(response.status, body?.error?.code ?? "", body?.error?.message ?? response.statusText, body?.error?.field);
}

/** The JSON answer of a node route that stores a document and answers its CID (with whatever else the route adds). */
export async function cidAnswer(response: Response): Promise<Record<string, unknown> & { cid: string }> {
  if (!response.ok) throw await rejectionOf(response);
  const answer = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (typeof answer?.cid !== "string") throw new NodeRejectedError(response.status, "bad_response", "the answer has no cid; is this a Tributary node?");
  return answer as Record<string, unknown> & { cid: string };
}

/** POSTs `body` as JSON to a node route that stores it and answers its CID. */
export async function postForCid(nodeUrl: string, path: string, body: unknown, fetcher: typeof fetch): Promise<Record<string, unknown> & { cid: string }> {
  return cidAnswer(await requestNode(nodeUrl, path, jsonPost(body), fetcher));
}
