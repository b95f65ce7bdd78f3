/**
 * Settlement inside a running node (startNode with the settle extension) and the `tributary-node claim` command
 * as its own process, on a real `hardhat node` with embedded Helia (settle-fixture.ts): paid requests stored by
 * the serving path are redeemed and credited on the extension's schedule; `GET /v1/credits/:account` answers 404
 * while the root is in its dispute window and the proof once it is final; the claim command pays the contributor
 * exactly its credit, and running it again pays nothing. The node is wired as `tributary-node start` wires it
 * (runtime/settlement-extension.ts): each round first runs serving's retry of records held out for a failed gradient
 * part (a real AttributionService over the node's database, here without an engine, so every attempt fails and the
 * record is given up after the configured attempts, staying held).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Counter } from "prom-client";
import { zeroHash, type Hex } from "viem";
import type { NodeConfig } from "../../../nodes/src/config/load.ts";
import { startNode, type RunningNode } from "../../../nodes/src/runtime/node.ts";
import type { ServingExtension } from "../../../nodes/src/runtime/serving-extension.ts";
import { settlementExtension } from "../../../nodes/src/runtime/settlement-extension.ts";
import type { StorageExtension } from "../../../nodes/src/runtime/storage-extension.ts";
import { AttributionService, type GradientRetryReport } from "../../../nodes/src/serve/attribution-service.ts";
import { gradientRetryPass } from "../../../nodes/src/serve/gradient-retry.ts";
import type { CreditEntry } from "../../../nodes/src/settle/credits.ts";
import { loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { account, privateKeyOf, waitUntil } from "../node/helpers/local-chain.ts";
import { CONTRIBUTORS, startSettleFixture, type SettleFixture } from "./settle-fixture.ts";

const CLI = fileURLToPath(new URL("../../../nodes/src/cli/main.ts", import.meta.url));
let f: SettleFixture;
let node: RunningNode;
let abis: SettlementAbis;
let attribution: AttributionService;
const retryReports: GradientRetryReport[] = [];

/**
 * Serving's part of the wiring as the serving extension makes it (an AttributionService over the node's database,
 * its retry pass counted in the node's registry), without generation: there is no model to serve here.
 */
function servingRetry(): ServingExtension {
  let pass: (() => Promise<GradientRetryReport>) | undefined;
  return {
    name: "serving-retry",
    get retryPendingGradients() {
      return pass;
    },
    setup(context) {
      attribution = new AttributionService({ database: context.state.database, gradientRetry: { maxAttempts: 3, backoffMs: 1, maxBackoffMs: 1 } });
      const registers = [context.metrics.registry];
      const metrics = {
        gradientCompleted: new Counter({ name: "tributary_attribution_gradient_completed_total", help: "-", registers }),
        gradientGivenUp: new Counter({ name: "tributary_attribution_gradient_given_up_total", help: "-", registers }),
      };
      const retry = gradientRetryPass({ attribution, models: { resolve: () => undefined }, metrics, logger: context.logger });
      pass = async () => {
        const report = await retry();
        retryReports.push(report);
        return report;
      };
    },
  };
}

before(async () => {
  f = await startSettleFixture();
  abis = await loadSettlementAbis();
  const config: NodeConfig = {
    rpcUrl: f.t.chain.rpcUrl, chainId: f.t.chain.chainId, contracts: f.t.addresses, deploymentFile: undefined, dataDir: join(f.dir, "node"),
    http: { host: "127.0.0.1", port: 0, corsOrigins: [] }, p2p: { listen: [], peers: [] }, operatorKey: privateKeyOf(account(2)) as Hex, operatorKeySource: "config",
    confirmations: 0, pollIntervalMs: 100, maxBlockRange: 1000, startBlock: 0n, storage: { kind: "helia" }, logLevel: "silent",
    jobs: { minFee: 0n, baseModels: new Map(), capabilities: [] }, extensions: [],
    serve: { models: ["1"] }, settle: { enabled: true, intervalSeconds: 0.2, minVouchers: 1, watch: false, gradientMaxAttempts: 3, gradientRetrySeconds: 1 },
  };
  const serving = servingRetry();
  const storage = { storage: { store: f.store } } as StorageExtension;
  node = await startNode(config, { logger: pino({ level: "silent" }), extensions: [serving, settlementExtension(storage, serving)] });
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

  it("runs serving's retry of held-out records at the start of each round; a record that never completes is given up and stays held", async () => {
    const database = node.context.state.database;
    // What serving stores for a paid response whose gradient part failed: span-only, pending, its tokens kept, due now.
    database.db.prepare(`
      INSERT INTO serve_records (record_id, model_id, payer, cumulative_amount, record_hash, record, cid, created_at, prompt_tokens, output_tokens,
        gradient_pending, gradient_attempts, gradient_error, gradient_next_attempt_at)
      VALUES ('req-held', '1', ?, '1', ?, '{}', NULL, ?, '[1,2]', '[3,4]', 1, 1, 'the gradient sketch could not be loaded', 0)
    `).run(f.operator.address, zeroHash, new Date().toISOString());
    await waitUntil("the record given up", async () => attribution.record("req-held")!.gradientRetry!.nextAttemptAt === null, 30_000);
    const attempts = retryReports.flatMap((r) => [...r.failed, ...r.givenUp]).filter((x) => x.recordId === "req-held");
    assert.deepEqual(attempts.map((a) => a.attempts), [2, 3], "one attempt per due round, the last given up");
    assert.match(attempts[1].error, /model 1 is not served by this node/);
    assert.equal(attribution.record("req-held")!.gradientPending, true, "still held out of settlement");
    assert.match(await (await fetch(`${node.url}/metrics`)).text(), /tributary_attribution_gradient_given_up_total 1/);
  });
});
