/**
 * A node's `GET /v1/credits/:account` (the settle extension): the account's cumulative credit and Merkle proof
 * against the node's final root. Undefined when the node does not answer, has no such route, or does not credit
 * the account; the Rewards page then reads the proof from the batch's document on IPFS.
 */
import type { Address, Hex } from "viem";

export async function fetchCredit(endpoint: string, account: Address, fetcher: typeof fetch = fetch, timeoutMs = 5_000): Promise<{ cumulative: bigint; proof: Hex[]; root: Hex } | undefined> {
  try {
    const response = await fetcher(new URL(`/v1/credits/${account}`, endpoint), { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { cumulative?: string; proof?: Hex[]; root?: Hex };
    if (typeof body.cumulative !== "string" || !Array.isArray(body.proof) || typeof body.root !== "string") return undefined;
    return { cumulative: BigInt(body.cumulative), proof: body.proof, root: body.root };
  } catch {
    return undefined;
  }
}
