/** Reading IPFS content through the node's verified gateway (GET /ipfs/<cid>). */

export interface DatanetMetadata {
  name?: string;
  description?: string;
}

/** The JSON document at `cid`, or undefined when the node cannot give it (not running, not held, not JSON). */
export async function fetchJson(nodeUrl: string, cid: string, fetcher: typeof fetch = fetch, timeoutMs = 5_000): Promise<unknown> {
  try {
    const response = await fetcher(new URL(`/ipfs/${encodeURIComponent(cid)}`, nodeUrl), { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    return await response.json();
  } catch {
    return undefined;
  }
}

/** A Datanet's name and description from its metadata document, keeping only string fields. */
export function readDatanetMetadata(document: unknown): DatanetMetadata {
  if (document === null || typeof document !== "object" || Array.isArray(document)) return {};
  const { name, description } = document as Record<string, unknown>;
  return {
    name: typeof name === "string" && name.trim() ? name.trim() : undefined,
    description: typeof description === "string" && description.trim() ? description.trim() : undefined,
  };
}
