/**
 * One node in detail: stake and endpoint, the models it serves at what price (its own `/v1/models`; the chain's
 * model terms when the node does not answer), the training jobs it took, its settlement batches and the disputes
 * over its results (job results and credit batches).
 */
import { useQuery } from "@tanstack/react-query";
import type { Address, PublicClient } from "viem";
import { useChainQuery } from "../chain/hooks.ts";
import { listJobs } from "../chain/models.ts";
import type { NodeRecord } from "../chain/nodes.ts";
import { batchDisputes, contributorPoolsAddress, isCreditBatch, settledBatches } from "../chain/rewards.ts";
import { formatPrice, formatTimestamp, formatToken, plural, shortAddress } from "../lib/format.ts";
import { listServedModels } from "../node-api/serving.ts";
import { href } from "../router.ts";
import { QueryView } from "./States.tsx";

async function nodeActivity(client: PublicClient, node: Address) {
  const [jobs, batches, pools] = await Promise.all([listJobs(client), settledBatches(client, node), contributorPoolsAddress(client)]);
  const disputes = await batchDisputes(client, pools, node);
  return { jobs: jobs.filter((j) => j.leaseHolder.toLowerCase() === node.toLowerCase()), batches: batches.reverse(), disputes };
}

export function NodeDetails({ node }: { node: NodeRecord }) {
  const activity = useChainQuery(["nodeActivity", node.operator], (client) => nodeActivity(client, node.operator));
  const reachable = /^https?:\/\//.test(node.endpoint);
  const served = useQuery({ queryKey: ["node", node.endpoint, "models"], queryFn: () => listServedModels(node.endpoint), enabled: reachable, retry: false });
  return (
    <article className="card" aria-labelledby={`node-${node.operator}`}>
      <h3 id={`node-${node.operator}`}>
        Node <code title={node.operator}>{shortAddress(node.operator)}</code>
      </h3>
      <dl className="facts">
        <dt>Stake</dt>
        <dd>{formatToken(node.stake)}</dd>
        <dt>Endpoint</dt>
        <dd><code className="break">{node.endpoint}</code></dd>
        <dt>Peer</dt>
        <dd><code className="break">{node.peerId}</code></dd>
      </dl>
      <h4>Serves</h4>
      {!reachable ? (
        <p className="hint">Its endpoint is not an HTTP URL, so the dApp cannot ask what it serves.</p>
      ) : served.isPending ? (
        <p>Asking the node…</p>
      ) : served.isError ? (
        <p className="hint">The node did not answer at {node.endpoint}; its models and prices are unknown right now.</p>
      ) : served.data.length === 0 ? (
        <p>No priced model.</p>
      ) : (
        <ul className="text-list">
          {served.data.map((m) => (
            <li key={m.id}>
              <a href={href({ page: "playground" })}>{m.id}</a> on {m.baseModel}: {formatPrice(m.pricePer1kTokens)} per 1k tokens (terms v{m.termsVersion.toString()})
            </li>
          ))}
        </ul>
      )}
      <QueryView query={activity} what="the node's activity">
        {({ jobs, batches, disputes }) => (
          <>
            <h4>Training jobs</h4>
            {jobs.length === 0 ? (
              <p>None taken.</p>
            ) : (
              <ul className="text-list">
                {jobs.map((j) => (
                  <li key={j.id.toString()}>
                    <a href={href({ page: "job", id: j.id })}>Job #{j.id.toString()}</a>: {j.status}
                    {j.modelId > 0n && <>, model #{j.modelId.toString()}</>}, fee {formatToken(j.fee)}
                  </li>
                ))}
              </ul>
            )}
            <h4>Settlement batches</h4>
            {batches.length === 0 ? (
              <p>None yet.</p>
            ) : (
              <ul className="text-list">
                {batches.map((b) => (
                  <li key={b.batchId.toString()}>
                    Batch #{b.batchId.toString()}:{" "}
                    {isCreditBatch(b)
                      ? <>credit root for {formatToken(b.totalCredit)} to contributors so far (cumulative), challengeable until {formatTimestamp(b.disputeUntil)}</>
                      : <>redeemed {formatToken(b.redeemed)} of vouchers, {formatToken(b.contributorPool)} of it to the contributor pool</>}
                  </li>
                ))}
              </ul>
            )}
            <h4>Disputes</h4>
            {disputes.length === 0 && !jobs.some((j) => j.status === "Disputed") ? (
              <p>None.</p>
            ) : (
              <ul className="text-list">
                {jobs.filter((j) => j.status === "Disputed").map((j) => (
                  <li key={`job-${j.id}`}>
                    <a href={href({ page: "job", id: j.id })}>Job #{j.id.toString()}</a>'s result, disputed by its requester: awaiting the arbiter
                  </li>
                ))}
                {disputes.map((d) => (
                  <li key={`batch-${d.batchId}`}>
                    Batch #{d.batchId.toString()} challenged by <code title={d.challenger}>{shortAddress(d.challenger)}</code>: {d.outcome === "open" ? "awaiting the arbiter" : d.outcome === "upheld" ? "upheld (the node was slashed)" : "rejected"}
                  </li>
                ))}
              </ul>
            )}
            <p className="hint">{plural(jobs.length, "job")}, {plural(batches.length, "batch", "batches")}, {plural(disputes.length, "batch dispute")}.</p>
          </>
        )}
      </QueryView>
    </article>
  );
}
