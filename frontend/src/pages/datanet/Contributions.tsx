/** The contribution list; curators select pending ones and accept or reject them in one transaction. */
import { useState } from "react";
import { decideCall, type ContributionRecord } from "../../chain/datanets.ts";
import { TransactionButton } from "../../components/TransactionButton.tsx";
import { formatBytes, formatToken, shortAddress, shortHash } from "../../lib/format.ts";

export function Contributions({ datanetId, contributions, canCurate }: { datanetId: bigint; contributions: ContributionRecord[]; canCurate: boolean }) {
  const [selected, setSelected] = useState<Set<bigint>>(new Set());
  const pending = contributions.filter((c) => c.status === "pending");
  const chosen = pending.filter((c) => selected.has(c.id)).map((c) => c.id);
  const selecting = canCurate && pending.length > 0;
  const toggle = (id: bigint) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return (
    <>
      {selecting && (
        <div className="toolbar">
          <button type="button" className="button secondary" onClick={() => setSelected(new Set(pending.map((c) => c.id)))}>
            Select all {pending.length} pending
          </button>
          <TransactionButton label="Accept selected" call={chosen.length ? decideCall(datanetId, chosen, true) : null} onConfirmed={() => setSelected(new Set())} />
          <TransactionButton label="Reject selected" call={chosen.length ? decideCall(datanetId, chosen, false) : null} variant="danger" onConfirmed={() => setSelected(new Set())} />
        </div>
      )}
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Contributions</caption>
          <thead>
            <tr>
              {selecting && <th scope="col">Select</th>}
              <th scope="col">#</th>
              <th scope="col">Contributor</th>
              <th scope="col">Size</th>
              <th scope="col">Stake</th>
              <th scope="col">Metadata</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {contributions.map((c) => (
              <tr key={c.id.toString()}>
                {selecting && (
                  <td>
                    {c.status === "pending" && (
                      <input type="checkbox" aria-label={`Select contribution ${c.number}`} checked={selected.has(c.id)} onChange={() => toggle(c.id)} />
                    )}
                  </td>
                )}
                <td>{c.number}</td>
                <td title={c.contributor}>{shortAddress(c.contributor)}</td>
                <td>{formatBytes(c.byteSize)}</td>
                <td>{formatToken(c.stake)}</td>
                <td>
                  <code title={c.metadataCid}>{shortHash(c.metadataCid)}</code>
                </td>
                <td>
                  <span className={`badge ${c.status}`}>{c.status}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
