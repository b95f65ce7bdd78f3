/** The catalogue: base models and trained models with their provenance (Datanet version, root, trainer, artifacts). */
import { useChainQuery } from "../chain/hooks.ts";
import { listBaseModels, listModels } from "../chain/models.ts";
import { QueryView } from "../components/States.tsx";
import { formatBps, formatToken, shortAddress, shortHash } from "../lib/format.ts";
import { href } from "../router.ts";

export function ModelsPage() {
  const models = useChainQuery(["models"], listModels);
  const bases = useChainQuery(["baseModels"], listBaseModels);
  return (
    <>
      <h1>Models</h1>
      <p className="lead">Every model names the Datanet version it was trained on, so its contributors can be paid when it is used.</p>
      <QueryView query={models} what="models" isEmpty={(m) => m.length === 0} empty={<p>No model has been trained yet.</p>}>
        {(list) => (
          <ul className="cards">
            {list.map((m) => (
              <li key={m.id.toString()} className="card">
                <h2>Model #{m.id.toString()}</h2>
                <dl className="facts">
                  <dt>Owner</dt>
                  <dd title={m.owner}>{shortAddress(m.owner)}</dd>
                  <dt>Price</dt>
                  <dd>{m.pricePer1kTokens === 0n ? "not priced yet" : `${formatToken(m.pricePer1kTokens)} per 1k tokens`}</dd>
                  {m.termsVersion !== undefined && (
                    <>
                      <dt>Terms</dt>
                      <dd>version {m.termsVersion.toString()}</dd>
                    </>
                  )}
                  <dt>Split</dt>
                  <dd>
                    owner {formatBps(m.split.ownerBps)}, contributors {formatBps(m.split.contributorBps)}, node {formatBps(m.split.nodeBps)}
                  </dd>
                  <dt>Trained on</dt>
                  <dd>
                    <a href={href({ page: "datanet", id: m.provenance.datanetId })}>Datanet #{m.provenance.datanetId.toString()}</a> v{m.provenance.datanetVersion} (root{" "}
                    <code title={m.provenance.datanetRoot}>{shortHash(m.provenance.datanetRoot)}</code>)
                  </dd>
                  <dt>Base model</dt>
                  <dd>
                    #{m.provenance.baseModelId.toString()} {bases.data?.find((b) => b.id === m.provenance.baseModelId)?.name}
                  </dd>
                  <dt>Trainer</dt>
                  <dd title={m.provenance.trainer}>{shortAddress(m.provenance.trainer)} (job #{m.provenance.jobId.toString()})</dd>
                  <dt>Adapter</dt>
                  <dd>
                    <code title={m.provenance.adapterCid}>{shortHash(m.provenance.adapterCid)}</code>
                  </dd>
                  <dt>Evaluation</dt>
                  <dd>
                    <code title={m.provenance.evaluationCid}>{shortHash(m.provenance.evaluationCid)}</code>
                  </dd>
                </dl>
              </li>
            ))}
          </ul>
        )}
      </QueryView>
      <h2>Base models</h2>
      <QueryView query={bases} what="base models" isEmpty={(b) => b.length === 0} empty={<p>Governance has registered no base model yet.</p>}>
        {(list) => (
          <ul className="cards">
            {list.map((b) => (
              <li key={b.id.toString()} className="card">
                <h3>
                  #{b.id.toString()} {b.name} {b.deprecated && <span className="badge rejected">deprecated</span>}
                </h3>
                <p>
                  Licence {b.licence}; weights <code title={b.manifestCid}>{shortHash(b.manifestCid)}</code>
                </p>
              </li>
            ))}
          </ul>
        )}
      </QueryView>
    </>
  );
}
