/** Registered nodes and their stake; register the connected account as a node operator or add to its stake. */
import { useState } from "react";
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { useChainQuery } from "../chain/hooks.ts";
import { addStakeCall, beginUnbondingCall, getNode, listNodes, minStake, nodeRegistryAddress, registerCall, withdrawStakeCall, type NodeRecord } from "../chain/nodes.ts";
import { allowance, approveCall } from "../chain/token.ts";
import { Field } from "../components/Field.tsx";
import { NodeDetails } from "../components/NodeDetails.tsx";
import { QueryView } from "../components/States.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { formatTimestamp, formatToken, shortAddress } from "../lib/format.ts";
import { parseTokenAmount, validateRegisterNode, type RegisterNodeForm } from "../lib/validation.ts";

export function NodesPage() {
  const { address } = useAccount();
  const nodes = useChainQuery(["nodes"], listNodes);
  const minimum = useChainQuery(["minStake"], minStake);
  const mine = useChainQuery(["node", address], (client) => getNode(client, address as Address), Boolean(address));
  return (
    <>
      <h1>Nodes</h1>
      <p className="lead">Compute nodes train models and serve them. Each stakes tokens that a proven fault can slash.</p>
      {minimum.data !== undefined && <p>Minimum stake: {formatToken(minimum.data)}.</p>}
      <QueryView query={nodes} what="nodes" isEmpty={(n) => n.length === 0} empty={<p>No node is registered yet.</p>}>
        {(list) => (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Registered nodes</caption>
              <thead>
                <tr>
                  <th scope="col">Operator</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Stake</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {list.map((n) => (
                  <tr key={n.operator}>
                    <td title={n.operator}>{shortAddress(n.operator)}</td>
                    <td>
                      <code>{n.endpoint}</code>
                    </td>
                    <td>{formatToken(n.stake)}</td>
                    <td>
                      <span className={`badge ${n.active ? "accepted" : "pending"}`}>
                        {n.active ? "active" : n.unbondingEndsAt ? `unbonding until ${formatTimestamp(n.unbondingEndsAt)}` : "below minimum"}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
      {nodes.data && nodes.data.length > 0 && (
        <section aria-labelledby="node-details-heading">
          <h2 id="node-details-heading">Details</h2>
          <div className="cards">
            {nodes.data.map((n) => (
              <NodeDetails key={n.operator} node={n} />
            ))}
          </div>
        </section>
      )}
      <section aria-labelledby="operate-heading">
        <h2 id="operate-heading">Operate a node</h2>
        {!address && <p className="hint">Connect the operator's wallet to register a node.</p>}
        {address && mine.data === null && minimum.data !== undefined && <RegisterNode operator={address} minStake={minimum.data} />}
        {address && mine.data && <OwnNode node={mine.data} />}
      </section>
    </>
  );
}

function useApprovalFor(operator: Address, amount: bigint | undefined) {
  const spendable = useChainQuery(["allowance", operator, "nodes"], (client) => allowance(client, operator, nodeRegistryAddress()));
  return amount !== undefined && amount > 0n && (spendable.data ?? 0n) < amount;
}

function RegisterNode({ operator, minStake }: { operator: Address; minStake: bigint }) {
  const [form, setForm] = useState<RegisterNodeForm>({ peerId: "", endpoint: "http://127.0.0.1:8700", capabilities: "0", stake: formatToken(minStake, { symbol: "" }).replace(/,/g, "") });
  const checked = validateRegisterNode(form, minStake);
  const errors = "errors" in checked ? checked.errors : {};
  const needsApproval = useApprovalFor(operator, "args" in checked ? checked.args.stake : undefined);
  const set = (key: keyof RegisterNodeForm) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [key]: e.target.value });
  return (
    <form className="form panel" onSubmit={(e) => e.preventDefault()} noValidate>
      <p>
        Registers <code>{operator}</code> as a node operator.
      </p>
      <Field label="Peer id" value={form.peerId} onChange={set("peerId")} error={form.peerId ? errors.peerId : undefined} hint="The libp2p peer id tributary-node prints at start." />
      <Field label="API endpoint" value={form.endpoint} onChange={set("endpoint")} error={errors.endpoint} />
      <Field label="Capabilities bitmask" inputMode="numeric" value={form.capabilities} onChange={set("capabilities")} error={errors.capabilities} />
      <Field label="Stake (TRIB)" inputMode="decimal" value={form.stake} onChange={set("stake")} error={errors.stake} />
      {"args" in checked && needsApproval && <TransactionButton call={approveCall(nodeRegistryAddress(), checked.args.stake, "node registry")} variant="secondary" />}
      <TransactionButton label="Register the node" call={"args" in checked && !needsApproval ? registerCall(checked.args) : null} />
    </form>
  );
}

/** The connected operator's node: add stake while bonded; begin unbonding, then withdraw once the delay is over. */
function OwnNode({ node }: { node: NodeRecord }) {
  if (node.unbondingEndsAt === 0) {
    return (
      <>
        <AddStake operator={node.operator} />
        <div className="panel">
          <p>Leaving: unbonding stops the node taking jobs; the stake can be withdrawn when the unbonding delay ends.</p>
          <TransactionButton call={beginUnbondingCall()} variant="danger" />
        </div>
      </>
    );
  }
  const ready = Date.now() / 1000 >= node.unbondingEndsAt;
  return (
    <div className="panel">
      <p>
        Your node is unbonding {ready ? "and its stake can be withdrawn now" : `until ${formatTimestamp(node.unbondingEndsAt)}`}.
      </p>
      <TransactionButton call={withdrawStakeCall()} disabled={!ready} />
    </div>
  );
}

function AddStake({ operator }: { operator: Address }) {
  const [text, setText] = useState("");
  const parsed = text ? parseTokenAmount(text, { allowZero: false }) : undefined;
  const amount = typeof parsed === "bigint" ? parsed : undefined;
  const needsApproval = useApprovalFor(operator, amount);
  return (
    <form className="form panel" onSubmit={(e) => e.preventDefault()} noValidate>
      <p>Your node is registered. Add to its stake:</p>
      <Field label="Amount (TRIB)" inputMode="decimal" value={text} onChange={(e) => setText(e.target.value)} error={typeof parsed === "string" ? parsed : undefined} />
      {amount !== undefined && needsApproval && <TransactionButton call={approveCall(nodeRegistryAddress(), amount, "node registry")} variant="secondary" />}
      <TransactionButton label="Add stake" call={amount !== undefined && !needsApproval ? addStakeCall(amount) : null} />
    </form>
  );
}
