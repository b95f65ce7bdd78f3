/**
 * Settlement inside a running node (startNode with the settle extension) and the `tributary-node claim` command
 * as its own process, on a real `hardhat node` with embedded Helia (settle-fixture.ts): paid requests stored by
 * the serving path are redeemed and credited on the extension's schedule; `GET /v1/credits/:account` answers 404
 * while the root is in its dispute window and the proof once it is final; the claim command pays the contributor
 * exactly its credit, and running it again pays nothing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { zeroHash, type Hex } from "viem";
import type { NodeConfig } from "../../../nodes/src/config/load.ts";
import { startNode, type RunningNode } from "../../../nodes/src/runtime/node.ts";
import type { CreditEntry } from "../../../nodes/src/settle/credits.ts";
import { createSettlementExtension } from "../../../nodes/src/settle/extension.ts";
import { loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { account, privateKeyOf, waitUntil } from "../node/helpers/local-chain.ts";
import { CONTRIBUTORS, startSettleFixture, type SettleFixture } from "./settle-fixture.ts";

const CLI = fileURLToPath(new URL("../../../nodes/src/cli/main.ts", import.meta.url));
let f: SettleFixture;
let node: RunningNode;
let abis: SettlementAbis;

before(async () => {
  f = await startSettleFixture();
  abis = await loadSettlementAbis();
  const config: NodeConfig = {
    rpcUrl: f.t.chain.rpcUrl, chainId: f.t.chain.chainId, contracts: f.t.addresses, deploymentFile: undefined, dataDir: join(f.dir, "node"),
    http: { host: "127.0.0.1", port: 0, corsOrigins: [] }, p2p: { listen: [], peers: [] }, operatorKey: privateKeyOf(account(2)) as Hex, operatorKeySource: "config",
    confirmations: 0, pollIntervalMs: 100, maxBlockRange: 1000, startBlock: 0n, storage: { kind: "helia" }, logLevel: "silent",
    jobs: { minFee: 0n, baseModels: new Map(), capabilities: [] }, extensions: [],
  };
  node = await startNode(config, { logger: pino({ level: "silent" }), extensions: [createSettlementExtension({ store: f.store, intervalMs: 200 })] });
}, { timeout: 180_000 });

after(async () => {
  await node?.stop();
  await f?.close();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("settlement in the node, and the claim command", () => {
  it("redeems and credits stored payments on schedule; a contributor claims with `tributary-node claim`", async () => {
    const database = node.context.state.database;
    await f.served(database, "req-1", 0);
    await f.served(database, "req-2", 2);
    const pools = (await f.t.client.readContract({ address: f.t.addresses.settlement, abi: abis.settlement, functionName: "contributorPools" })) as Hex;
    await waitUntil("the node's credit root", async () => {
      const credits = (await f.t.client.readContract({ address: pools, abi: abis.pools, functionName: "creditsOf", args: [f.operator.address] })) as Hex[];
      return credits[4] !== zeroHash;
    }, 60_000);
    const contributor = CONTRIBUTORS[0];
    assert.equal((await fetch(`${node.url}/v1/credits/${contributor}`)).status, 404, "pending: not claimable yet");
    assert.equal((await fetch(`${node.url}/v1/credits/not-an-address`)).status, 400);

    await f.t.rpc("evm_increaseTime", [86_400 * 2]);
    await f.t.rpc("evm_mine");
    const response = await fetch(`${node.url}/v1/credits/${contributor}`);
    assert.equal(response.status, 200);
    const entry = (await response.json()) as CreditEntry;
    assert.ok(BigInt(entry.cumulative) > 0n);

    const before = await f.balanceOf(contributor);
    const args = [
      "claim", "--node", f.operator.address, "--api", node.url, "--rpc-url", f.t.chain.rpcUrl, "--chain-id", String(f.t.chain.chainId),
      ...(["token", "datanets", "nodes", "models", "settlement"] as const).flatMap((key) => [`--${key}-address`, f.t.addresses[key]]),
      "--operator-key", privateKeyOf(account(5)), "--data-dir", join(f.dir, "claimant"),
    ];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Claimed \d+ token units/);
    assert.equal(await f.balanceOf(contributor), before + BigInt(entry.cumulative));
    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Nothing to claim/);
    assert.equal(await f.balanceOf(contributor), before + BigInt(entry.cumulative));
  });
});
