/**
 * `npm start` as a user runs it (scripts/stack/main.ts), with the reduced seed (a few entries per contributor, the
 * tiny preset) on free ports and a temporary data dir: it must say "ready" with the demo on the chain (the Datanet,
 * its published version, the trained model with its price and split, a demo payer's paid completions settled by the
 * node's own settlement round and a contributor with a credit to claim after the dispute window), the node
 * answering /health and the dApp serving HTML; then Ctrl-C (SIGINT) must stop it cleanly with every process it started gone, and the next start
 * must restore that chain from the data dir (the recorded history replayed) with nothing left to seed.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, parseEther, type Address, type PublicClient } from "viem";
import { loadProtocolAbis, type ProtocolAbis } from "../../../nodes/src/chain/contracts.ts";
import { findFreePort, isPortFree } from "../../../scripts/deploy/ports.ts";

const STACK = fileURLToPath(new URL("../../../scripts/stack/main.ts", import.meta.url));

function alive(pid: number, group = false): boolean {
  try {
    process.kill(group ? -pid : pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start: the whole stack from one command", { timeout: 600_000 }, () => {
  let dir: string;
  let stack: ChildProcess;
  let output = "";
  let ports: { rpc: number; node: number; dapp: number };

  /** Starts the stack as `npm start -- --seed tiny ...` and resolves once it says "ready". */
  async function startStack(): Promise<void> {
    output = "";
    stack = spawn(process.execPath, [STACK, "--seed", "tiny", "--data-dir", join(dir, "data"), "--rpc-port", String(ports.rpc),
      "--node-port", String(ports.node), "--dapp-port", String(ports.dapp)], { stdio: ["ignore", "pipe", "pipe"] });
    stack.stdout!.on("data", (d) => (output += d));
    stack.stderr!.on("data", (d) => (output += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ready" within 420 s:\n${output}`)), 420_000);
      const check = () => {
        if (/\[stack\] ready: open http:\/\/127\.0\.0\.1:\d+/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      stack.stdout!.on("data", check);
      stack.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the stack exited (${code}) before it was ready:\n${output}`));
      });
    });
  }

  async function stopStack(): Promise<void> {
    const exited = new Promise<number | null>((resolve) => stack.once("exit", resolve));
    stack.kill("SIGINT");
    assert.equal(await exited, 0, output);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tributary-stack-test-"));
    ports = { rpc: await findFreePort(), node: await findFreePort(), dapp: await findFreePort() };
    await startStack();
  });

  after(async () => {
    if (stack && stack.exitCode === null) stack.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the URLs and the local-only accounts to import", () => {
    assert.match(output, new RegExp(`dApp\\s+http://127\\.0\\.0\\.1:${ports.dapp}`));
    assert.match(output, new RegExp(`node API\\s+http://127\\.0\\.0\\.1:${ports.node}`));
    assert.match(output, new RegExp(`chain\\s+http://127\\.0\\.0\\.1:${ports.rpc}`));
    assert.match(output, /LOCAL TEST KEYS ONLY/);
    assert.match(output, /#3 0x90F79bf6EB2c4f870365E785982E1f101E93b906 {2}0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6/);
  });

  it("has the demo on the chain: the Datanet with four contributions, its published version and the trained model with its terms", async () => {
    assert.doesNotMatch(output, /demo seed: .* failed/, output);
    assert.match(output, /\[stack\] demo seeded in \d+ s: Datanet 1 \(version 1\), model 1/);
    const deployment = JSON.parse(await readFile(join(dir, "data", "deployment.json"), "utf8")) as { rpcUrl: string; contracts: Record<string, Address> };
    const abis: ProtocolAbis = await loadProtocolAbis();
    const client = createPublicClient({ transport: http(deployment.rpcUrl) }) as PublicClient;
    const read = (contract: "datanets" | "models", functionName: string, args: readonly unknown[] = []) =>
      client.readContract({ address: deployment.contracts[contract], abi: abis[contract], functionName, args } as never) as Promise<any>;
    const datanet = await read("datanets", "getDatanet", [1n]);
    assert.equal(Number(datanet.contributionCount), 4);
    assert.equal(Number(datanet.acceptedCount), 4);
    assert.equal(Number(datanet.versionCount), 1);
    assert.equal(datanet.licence, "LicenseRef-PublicDomain");
    assert.equal(await read("models", "baseModelCount"), 1n);
    const job = await read("models", "getJob", [1n]);
    assert.equal(job.modelId, 1n, "the node trained the demo job and submitted model 1");
    const provenance = await read("models", "getProvenance", [1n]);
    assert.match(JSON.stringify(provenance, (_, v) => (typeof v === "bigint" ? v.toString() : v)), /"evaluationCid":"b[a-z2-7]+"/);
    const [, , price, ownerBps, contributorBps, nodeBps] = await read("models", "modelTerms", [1n]);
    assert.deepEqual([price, ownerBps, contributorBps, nodeBps], [parseEther("0.5"), 3_000, 6_000, 1_000]);
  });

  it("has money in the demo: the payer's completions redeemed by the node's settlement, the contributors' share in its pool, and a credit to claim when an output was attributed", async () => {
    assert.match(output, /#8 0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f .* demo payer/);
    const deployment = JSON.parse(await readFile(join(dir, "data", "deployment.json"), "utf8")) as { rpcUrl: string; contracts: Record<string, Address> };
    const abis: ProtocolAbis = await loadProtocolAbis();
    const client = createPublicClient({ transport: http(deployment.rpcUrl) }) as PublicClient;
    const operator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"; // account #1
    const [redeemed] = await client.readContract({ address: deployment.contracts.settlement, abi: abis.settlement, functionName: "channelOf", args: ["0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", operator, 1n] }) as readonly [bigint, bigint];
    assert.ok(redeemed > 0n, "the node redeemed the demo payer's vouchers");
    const [, , , pool] = await client.readContract({ address: deployment.contracts.contributorPools, abi: abis.contributorPools, functionName: "creditsOf", args: [operator] }) as unknown as readonly [string, bigint, bigint, bigint];
    assert.ok(pool > 0n, "the contributors' share of the revenue is in the node's pool");
    // A credit exists only when an output was attributed: by a copied span of the Datanet (the tiny demo model seldom
    // copies one) or by gradient attribution.
    const claim = /\[stack\] contributor #(\d) (0x[0-9a-fA-F]{40}) can claim ([\d.]+) TRIB from node/.exec(output);
    if (claim === null) {
      assert.match(output, /\[stack\] note: no demo output was credited to a contribution: none copied an 8-token span of the Datanet .* gradient attribution .* credited none/, output);
      return;
    }
    const credit = await fetch(`http://127.0.0.1:${ports.node}/v1/credits/${claim[2]}`);
    assert.equal(credit.status, 200, "final: past the dispute window");
    assert.ok(BigInt(((await credit.json()) as { cumulative: string }).cumulative) > 0n);
  });

  it("has the node answering /health and the dApp serving its page", async () => {
    const health = await fetch(`http://127.0.0.1:${ports.node}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
    const page = await fetch(`http://127.0.0.1:${ports.dapp}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<div id="root"/);
  });

  it("stops everything it started on Ctrl-C (SIGINT)", async () => {
    const pids = JSON.parse(await readFile(join(dir, "data", "pids.json"), "utf8")) as { chain: number; groups: Record<string, number> };
    assert.deepEqual(Object.keys(pids.groups).sort(), ["dApp", "node"].concat(Object.keys(pids.groups).includes("watcher") ? ["watcher"] : []).sort());
    await stopStack();
    assert.match(output, /\[stack\] stopped/);
    assert.equal(alive(pids.chain), false, "the chain process is gone");
    for (const [name, pgid] of Object.entries(pids.groups)) assert.equal(alive(pgid, true), false, `${name}'s process group is gone`);
    for (const port of Object.values(ports)) assert.equal(await isPortFree(port), true, `port ${port} is free again`);
  });

  it("restores the chain from the data dir on the next start: the demo is there and the seed has nothing left to do", async () => {
    await startStack();
    assert.match(output, /\[stack\] restoring the chain from .*chain-history\.json \(\d+ blocks\)/);
    assert.doesNotMatch(output, /deploying the protocol|creating the Jargon File Datanet|registering and staking|creating the training job/);
    assert.match(output, /\[stack\] demo seeded in \d+ s: Datanet 1 \(version 1\), model 1/);
    assert.doesNotMatch(output, /paid completion of/, "the paid inferences are on the chain already");
    assert.match(output, /\[stack\] (contributor #\d 0x[0-9a-fA-F]{40} can claim [\d.]+ TRIB from node|note: no demo output copied)/, "the same money story on the restored chain");
    const job = (await (await fetch(`http://127.0.0.1:${ports.node}/jobs/1`)).json()) as { job: { status: string; modelId: string } };
    assert.deepEqual([job.job.status, job.job.modelId], ["completed", "1"], "the node kept its record of the demo job");
    await stopStack();
  });
});
