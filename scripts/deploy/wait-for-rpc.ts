import { ChainStartTimeoutError } from "./errors.ts";

/** Polls `url` with eth_chainId until it answers, and returns the chain id. */
export async function waitForRpc(url: string, timeoutMs: number, isAlive: () => boolean): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive()) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const body = (await response.json()) as { result?: string };
      if (body.result !== undefined) return Number(body.result);
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new ChainStartTimeoutError(url, timeoutMs);
}
