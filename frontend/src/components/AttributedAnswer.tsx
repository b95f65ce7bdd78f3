/**
 * An answer with its attribution, as OLMoTrace shows it: output spans found verbatim in the Datanet are
 * highlighted; choosing one lists the contributions that hold that text; below, the contributors and their shares
 * of this answer's contributor pool.
 */
import { useId, useState } from "react";
import { listContributions } from "../chain/datanets.ts";
import { useChainQuery } from "../chain/hooks.ts";
import { segmentOutput, sharesByContributor, type TributaryAttribution } from "../lib/attribution.ts";
import { formatPrice, shortAddress } from "../lib/format.ts";
import { href } from "../router.ts";

export function AttributedAnswer({ text, attribution }: { text: string; attribution?: TributaryAttribution }) {
  const [chosen, setChosen] = useState<number | undefined>();
  const detailsId = useId();
  const datanetId = attribution ? BigInt(attribution.model.datanet.id) : undefined;
  const contributions = useChainQuery(["contributions", datanetId?.toString()], (client) => listContributions(client, datanetId!), datanetId !== undefined);
  if (!attribution) return <p className="answer-text">{text}</p>;
  const contributorOf = (id: string) => contributions.data?.find((c) => c.id.toString() === id)?.contributor;
  // The Datanet page numbers contributions 1, 2, 3…; a record names them by their registry id (a large number).
  const labelOf = (id: string) => {
    const number = contributions.data?.find((c) => c.id.toString() === id)?.number;
    return number !== undefined ? `#${number}` : id.length > 12 ? `${id.slice(0, 6)}…${id.slice(-4)}` : `#${id}`;
  };
  const segments = segmentOutput(text, attribution.spans);
  const span = chosen === undefined ? undefined : attribution.spans[chosen];
  const datanetLink = href({ page: "datanet", id: datanetId! });
  const shares = sharesByContributor(attribution.contributions, contributorOf);
  return (
    <div className="attributed">
      <p className="answer-text">
        {segments.map((s, i) =>
          s.span === undefined ? (
            <span key={i}>{s.text}</span>
          ) : (
            <mark key={i}>
              <button type="button" className="span-button" aria-pressed={chosen === s.span} aria-controls={detailsId} onClick={() => setChosen(chosen === s.span ? undefined : s.span)}>
                {s.text}
              </button>
            </mark>
          ),
        )}
      </p>
      <div id={detailsId} aria-live="polite">
        {span && (
          <div className="panel span-sources">
            <p>
              “{span.text}” appears {span.occurrences} {span.occurrences === 1 ? "time" : "times"} in <a href={datanetLink}>Datanet #{attribution.model.datanet.id}</a> v{attribution.model.datanet.version}, in:
            </p>
            <ul className="text-list">
              {span.sources.map((source) => (
                <li key={source.contribution_id}>
                  <a href={datanetLink} title={`contribution id ${source.contribution_id}`}>contribution {labelOf(source.contribution_id)}</a>
                  {contributorOf(source.contribution_id) && <> by <code title={contributorOf(source.contribution_id)}>{shortAddress(contributorOf(source.contribution_id)!)}</code></>} ({source.count}×)
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
      {attribution.spans.length === 0 && <p className="hint">No span of this answer appears verbatim in the Datanet; the shares below come from the attribution record.</p>}
      <details className="attribution-details">
        <summary>
          Attributed to {shares.length} {shares.length === 1 ? "contributor" : "contributors"} · paid {formatPrice(BigInt(attribution.payment.charged))}
        </summary>
        <ul className="text-list" aria-label="Contributors and their shares">
          {shares.map((s) => (
            <li key={s.contributionIds.join(",")}>
              <span className="share-bar" style={{ width: `${Math.max(2, s.share * 100)}%` }} aria-hidden="true" />
              {s.contributor === "unknown" ? "contributor not loaded" : <code title={s.contributor}>{shortAddress(s.contributor)}</code>}: {(s.share * 100).toFixed(1)}% (contribution{s.contributionIds.length === 1 ? "" : "s"} {s.contributionIds.map(labelOf).join(", ")})
            </li>
          ))}
        </ul>
        <p className="hint">
          Record <code className="break">{attribution.record.cid ?? attribution.record.id}</code> (hash <code title={attribution.record.hash}>{attribution.record.hash.slice(0, 10)}…</code>): anyone can recompute it from public data.
        </p>
      </details>
    </div>
  );
}
