/** `status` (chain, operator, stake, followed block, jobs) and `jobs list`, read from the chain and the node's database. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { formatUnits } from "viem";
import { capabilityNames } from "../config/fields.ts";
import { DATABASE_FILE, openState, type NodeState } from "../state/index.ts";
import type { ChainSession } from "./chain-session.ts";

function withState<T>(dataDir: string, fn: (state: NodeState | undefined) => T): T {
  if (!existsSync(resolve(dataDir, DATABASE_FILE))) return fn(undefined);
  const state = openState(dataDir);
  try {
    return fn(state);
  } finally {
    state.close();
  }
}

export async function statusCommand({ chain, config }: ChainSession, json: boolean): Promise<void> {
  const me = chain.account.address;
  const [head, node, active, balance] = await Promise.all([
    chain.client.getBlockNumber(),
    chain.read("nodes", "getNode", [me]),
    chain.read("nodes", "isActive", [me]),
    chain.read("token", "balanceOf", [me]),
  ]);
  const local = withState(config.dataDir, (state) => state && {
    followed: state.chain.cursor()?.number ?? null,
    jobs: state.jobs.counts(),
  });
  const report = {
    chain: { chainId: config.chainId, rpcUrl: config.rpcUrl, head },
    operator: {
      address: me, registered: node.registered, active, stake: formatUnits(node.stake, 18), balance: formatUnits(balance, 18),
      peerId: node.peerId, endpoint: node.endpoint, capabilities: capabilityNames(node.capabilities),
    },
    node: local ? { dataDir: config.dataDir, followed: local.followed, jobs: local.jobs } : { dataDir: config.dataDir, started: false },
  };
  if (json) {
    console.log(JSON.stringify(report, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
    return;
  }
  console.log(`chain     ${config.chainId} at ${config.rpcUrl}, head ${head}`);
  console.log(`operator  ${me} ${node.registered ? (active ? "active" : "registered, NOT active") : "not registered (run: tributary-node operator register)"}`);
  console.log(`stake     ${formatUnits(node.stake, 18)} (balance ${formatUnits(balance, 18)})`);
  if (node.registered) console.log(`endpoint  ${node.endpoint} peer ${node.peerId} capabilities ${capabilityNames(node.capabilities).join(", ") || "none"}`);
  if (!local) {
    console.log(`node      no database in ${config.dataDir} yet (run: tributary-node start)`);
    return;
  }
  const lag = local.followed === null ? "none yet" : `${local.followed} (${head - local.followed} behind head)`;
  console.log(`followed  ${lag}`);
  console.log(`jobs      ${local.jobs.map((j) => `${j.status}${j.phase ? `/${j.phase}` : ""}: ${j.count}`).join(", ") || "none"}`);
}

export function jobsListCommand(dataDir: string, json: boolean): void {
  withState(dataDir, (state) => {
    const jobs = state?.jobs.list() ?? [];
    if (json) {
      console.log(JSON.stringify(jobs, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
      return;
    }
    if (jobs.length === 0) {
      console.log(state ? "No jobs yet." : `No node database in ${dataDir} (run: tributary-node start).`);
      return;
    }
    console.log(["job".padEnd(6), "status".padEnd(10), "phase".padEnd(9), "fee".padEnd(12), "base", "reason / model"].join(" "));
    for (const job of jobs) {
      const note = job.modelId !== null ? `model ${job.modelId}` : (job.reason ?? "");
      console.log([String(job.jobId).padEnd(6), job.status.padEnd(10), (job.phase ?? "-").padEnd(9), formatUnits(job.fee, 18).padEnd(12), String(job.baseModelId).padEnd(4), note].join(" "));
    }
  });
}
