import type { Address } from "viem";
import type { ContributionRecord } from "../../chain/datanets.ts";
import { formatBytes } from "../../lib/format.ts";

export interface ContributorTotals {
  contributor: Address;
  total: number;
  accepted: number;
  bytes: bigint;
}

/** Per-contributor totals, most accepted first. */
export function contributorTotals(contributions: readonly ContributionRecord[]): ContributorTotals[] {
  const byContributor = new Map<string, ContributorTotals>();
  for (const c of contributions) {
    const key = c.contributor.toLowerCase();
    const totals = byContributor.get(key) ?? { contributor: c.contributor, total: 0, accepted: 0, bytes: 0n };
    totals.total += 1;
    if (c.status === "accepted") totals.accepted += 1;
    totals.bytes += c.byteSize;
    byContributor.set(key, totals);
  }
  return [...byContributor.values()].sort((a, b) => b.accepted - a.accepted || b.total - a.total);
}

export function Contributors({ contributions }: { contributions: ContributionRecord[] }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Contributors</caption>
        <thead>
          <tr>
            <th scope="col">Contributor</th>
            <th scope="col">Accepted / made</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {contributorTotals(contributions).map((t) => (
            <tr key={t.contributor}>
              <td>
                <code>{t.contributor}</code>
              </td>
              <td>
                {t.accepted} / {t.total}
              </td>
              <td>{formatBytes(t.bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
