/**
 * What a request costs, computed the same way by the node (to check a voucher) and by the client helper (to
 * sign one): the prompt's tokens plus the most tokens it may generate, at the model's price per 1,000 tokens,
 * rounded up so a request is never served below its price.
 */

/** Token units a request costs: ⌈(promptTokens + maxTokens) × pricePer1kTokens / 1000⌉. */
export function requestCost(promptTokens: number, maxTokens: number, pricePer1kTokens: bigint): bigint {
  const tokens = BigInt(promptTokens) + BigInt(maxTokens);
  return (tokens * pricePer1kTokens + 999n) / 1000n;
}

/**
 * The output budget of a request without `max_tokens`: OpenAI's 16 for completions; for chat, what the
 * context leaves after the prompt, at most 256 (the cost is charged on this budget, so it stays modest).
 */
export function defaultMaxTokens(kind: "completion" | "chat", promptTokens: number, contextLength: number): number {
  if (kind === "completion") return 16;
  return Math.max(1, Math.min(256, contextLength - promptTokens));
}

/**
 * How much of a request's price the channel's credit (failed requests whose amount a later voucher already holds)
 * covers: all of it but one unit, since a voucher must still raise the channel's amount to be a new one.
 */
export function channelDiscount(credit: bigint, price: bigint): bigint {
  if (credit <= 0n || price <= 1n) return 0n;
  return credit < price - 1n ? credit : price - 1n;
}
