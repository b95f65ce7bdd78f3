/**
 * Account-centered scores: an account's share of an output minus its mean share over a set of outputs. A method
 * whose scores favour the same few accounts on every output (hubs: contributors whose gradients point where most
 * outputs' do) ranks them first everywhere; centering asks which account is credited MORE than usual for this output.
 * Scores are shifted by +1 so they stay positive for the ranking functions (shares are in [0, 1]).
 */
import type { Address } from "viem";

export function accountCentered(shares: readonly ReadonlyMap<Address, number>[], accounts: readonly Address[]): Map<Address, number>[] {
  const means = new Map(accounts.map((a) => [a, shares.reduce((sum, s) => sum + (s.get(a) ?? 0), 0) / Math.max(1, shares.length)]));
  return shares.map((s) => new Map(accounts.map((a) => [a, 1 + (s.get(a) ?? 0) - means.get(a)!])));
}
