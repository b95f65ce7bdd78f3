import type { VersionRecord } from "../../chain/datanets.ts";
import { formatTimestamp, shortHash } from "../../lib/format.ts";

export function Versions({ versions }: { versions: VersionRecord[] }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Published versions</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Contributions</th>
            <th scope="col">Merkle root</th>
            <th scope="col">Manifest</th>
            <th scope="col">Published</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}</td>
              <td>
                {v.contributionCount} (up to #{v.lastContributionNumber})
              </td>
              <td>
                <code title={v.root}>{shortHash(v.root)}</code>
              </td>
              <td>
                <code title={v.manifestCid}>{shortHash(v.manifestCid)}</code>
              </td>
              <td>{formatTimestamp(v.publishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
