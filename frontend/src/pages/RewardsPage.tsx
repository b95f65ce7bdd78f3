/**
 * Rewards: what the connected account earned as a contributor, per node and settlement batch (and the models the
 * batch paid for), pending or final, and claiming everything final in one `claimMany`. Proofs come from each node's
 * `GET /v1/credits/:account`, or else from the batch's settlement document on IPFS.
 */
import type { Address, PublicClient } from "viem";
import { useAccount } from "wagmi";
import { useChainQuery } from "../chain/hooks.ts";
import { listNodes } from "../chain/nodes.ts";
import { claimedOf, claimManyCall, contributorPoolsAddress, creditsOf, isCreditBatch, settledBatches } from "../chain/rewards.ts";
import { QueryView } from "../components/States.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { formatTimestamp, formatToken, shortAddress } from "../lib/format.ts";
import { readSettlementDocument, summarizeEarnings, type CreditBatch, type NodeEarnings } from "../lib/rewards.ts";
import { fetchCredit } from "../node-api/credits.ts";
import { fetchJson } from "../node-api/gateway.ts";
import { useNodeUrl } from "../settings.ts";

async function loadEarnings(client: PublicClient, account: Address, nodeUrl: string) {
  // The chain's clock decides when a dispute window has closed (a claim before then reverts), not this computer's.
  const [pools, batches, nodes, head] = await Promise.all([contributorPoolsAddress(client), settledBatches(client), listNodes(client), client.getBlock()]);
  const creditBatches = batches.filter(isCreditBatch);
  const operators = [...new Set(creditBatches.map((b) => b.node))];
  const earnings: NodeEarnings[] = await Promise.all(
    operators.map(async (node) => {
      const endpoint = nodes.find((n) => n.operator.toLowerCase() === node.toLowerCase())?.endpoint;
      const [credits, claimed, apiCredit, documents] = await Promise.all([
        creditsOf(client, pools, node),
        claimedOf(client, pools, node, account),
        endpoint && /^https?:\/\//.test(endpoint) ? fetchCredit(endpoint, account) : Promise.resolve(undefined),
        Promise.all(
          creditBatches
            .filter((b) => b.node === node)
            .map(async (b): Promise<CreditBatch> => {
              const read = readSettlementDocument(await fetchJson(nodeUrl, b.recordsCid, fetch, 10_000), account);
              return { batchId: b.batchId, creditRoot: b.creditRoot, disputeUntil: b.disputeUntil, recordsCid: b.recordsCid, entry: read?.entry, modelIds: read?.modelIds ?? [], unreadable: read === undefined };
            }),
        ),
      ]);
      return { node, credits, claimed, batches: documents, apiCredit };
    }),
  );
  return { pools, summary: summarizeEarnings(earnings, head.timestamp), unreadable: earnings.flatMap((e) => e.batches.filter((b) => b.unreadable)) };
}

export function RewardsPage() {
  const { address } = useAccount();
  const nodeUrl = useNodeUrl();
  const earnings = useChainQuery(["rewards", address, nodeUrl], (client) => loadEarnings(client, address as Address, nodeUrl), Boolean(address));
  return (
    <>
      <h1>Rewards</h1>
      <p className="lead">Each paid answer's contributor pool is divided by attribution. Nodes commit the credits as a Merkle root per batch; after the dispute window they are final and yours to claim.</p>
      {!address ? (
        <p className="state empty">Connect a wallet to see what it earned.</p>
      ) : (
        <QueryView query={earnings} what="your rewards">
          {({ pools, summary, unreadable }) => (
            <>
              <dl className="facts" data-testid="reward-totals">
                <dt>Ready to claim</dt>
                <dd>{formatToken(summary.claimable)}</dd>
                <dt>Pending</dt>
                <dd>{formatToken(summary.pending)} (in dispute windows)</dd>
                <dt>Claimed</dt>
                <dd>{formatToken(summary.claimed)}</dd>
              </dl>
              <TransactionButton call={summary.claims.length > 0 ? claimManyCall(pools, address!, summary.claims) : null} label={summary.claimed > 0n ? "Nothing left to claim" : "Nothing to claim yet"} />
              {summary.missingProofs.length > 0 && (
                <p className="field-error">
                  The final credits of {summary.missingProofs.map(shortAddress).join(", ")} could not be proven: neither the node's API nor the gateway at {nodeUrl} gave the batch document.
                </p>
              )}
              {summary.rows.length === 0 ? (
                <p className="state empty">No settled batch credits this account yet. {unreadable.length > 0 && `${unreadable.length} batch document(s) could not be read from ${nodeUrl}.`}</p>
              ) : (
                <div className="table-wrap">
                  <table>
                    <caption className="visually-hidden">Credits per node and batch</caption>
                    <thead>
                      <tr>
                        <th scope="col">Batch</th>
                        <th scope="col">Node</th>
                        <th scope="col">Models</th>
                        <th scope="col">Earned</th>
                        <th scope="col">Total so far</th>
                        <th scope="col">Status</th>
                      </tr>
                    </thead>
                    <tbody>
                      {summary.rows.map((r) => (
                        <tr key={`${r.node}-${r.batchId}`}>
                          <td>
                            #{r.batchId.toString()} <a href={`${nodeUrl}/ipfs/${r.recordsCid}`}>records</a>
                          </td>
                          <td title={r.node}>{shortAddress(r.node)}</td>
                          <td>{r.modelIds.length ? r.modelIds.map((id) => `#${id}`).join(", ") : "—"}</td>
                          <td>{formatToken(r.added)}</td>
                          <td>{formatToken(r.cumulative)}</td>
                          <td>
                            <span className={`badge ${r.status === "final" ? "accepted" : r.status === "pending" ? "pending" : r.status === "challenged" ? "rejected" : ""}`}>{r.status}</span>
                            {r.status === "pending" && <> until {formatTimestamp(r.disputeUntil)}</>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          )}
        </QueryView>
      )}
    </>
  );
}
