/**
 * `tributary-node start` as its own process against a real hardhat node: /health, /metrics and JSON errors; an
 * on-chain job claimed through the real contract and recorded; SIGKILL in the middle of a phase and a restart
 * that resumes at the last completed phase and submits exactly once; SIGTERM shuts down with exit code 0.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseEther } from "viem";
import { account, createJob, prepareJobMarket, privateKeyOf, startTestChain, waitUntil, type TestChain } from "./helpers/local-chain.ts";
import { runNodeCli, startNodeCli, type NodeCliProcess } from "./helpers/node-cli.ts";

const PHASES = fileURLToPath(new URL("./fixtures/trivial-phases.ts", import.meta.url));

describe("tributary-node start", { timeout: 240_000 }, () => {
  let t: TestChain;
  let requester: ReturnType<typeof account>;
  const operator = account(2);
  const processes: ChildProcess[] = [];
  let deploymentFile: string;
  let dataDir: string;
  let gate: string;

  const nodeArgs = () => ["--deployment", deploymentFile, "--data-dir", dataDir, "--operator-key", privateKeyOf(operator)];

  const runCli = (args: string[]) => runNodeCli([...args, ...nodeArgs()]);

  async function startNodeProcess(): Promise<NodeCliProcess> {
    const node = await startNodeCli([
      "--port", "0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--confirmations", "1", "--poll-interval", "100", "--base-model", `1=${t.dir}`, "--extension", PHASES,
      ...nodeArgs(),
    ], 60_000, { ...process.env, TRIBUTARY_TEST_GATE: gate });
    processes.push(node.child);
    return node;
  }

  const getJson = async (url: string) => {
    const response = await fetch(url);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  before(async () => {
    t = await startTestChain();
    ({ requester } = await prepareJobMarket(t));
    deploymentFile = join(t.dir, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(t.deployment));
    dataDir = join(t.dir, "node");
    gate = join(t.dir, "train-gate");
    await t.send(account(0), "token", "transfer", [operator.address, parseEther("1000")]);
  });
  after(async () => {
    for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await t?.close();
  });

  it("registers the operator with a stake through the CLI", async () => {
    const result = await runCli(["operator", "register", "--peer-id", "12D3KooWTestPeer", "--endpoint", "http://127.0.0.1:1"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Registered 0x[0-9a-fA-F]{40} .* with stake 100;/);
    const active = await t.client.readContract({ address: t.addresses.nodes, abi: t.abis.nodes, functionName: "isActive", args: [operator.address] });
    assert.equal(active, true);
    const again = await runCli(["operator", "register", "--peer-id", "x"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /NodeRegistry reverted: NodeAlreadyRegistered\(node=0x/);
    const stake = await runCli(["operator", "stake", "5"]);
    assert.equal(stake.code, 0, stake.stderr);
    assert.match(stake.stdout, /stake now 105/);
  });

  it("refuses to start with unusable settings, naming the field and the fix (exit code 2)", async () => {
    const result = await runCli(["start", "--port", "99999", "--log-level", "loud"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Invalid node configuration:/);
    assert.match(result.stderr, /http\.port: must be an integer between 0 and 65535, got 99999; set --port, TRIBUTARY_HTTP_PORT or "http\.port" in the config file/);
    assert.match(result.stderr, /logLevel: must be one of/);
  });

  it("answers /health and /metrics, and bad requests with JSON errors", async () => {
    const node = await startNodeProcess();
    try {
      const health = await waitUntil("a healthy chain check", async () => {
        const h = await getJson(`${node.url}/health`);
        return h.status === 200 && h.body.checks.chain.followed !== null ? h : undefined;
      });
      assert.equal(health.body.status, "ok");
      assert.ok(Number(health.body.checks.chain.lag) <= 1 + 10);
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      for (const name of ["tributary_followed_block", "tributary_chain_head_block", "tributary_jobs", "tributary_http_request_duration_seconds_bucket", "process_cpu_user_seconds_total"]) {
        assert.match(metrics, new RegExp(`^${name}`, "m"), name);
      }
      const bad = await getJson(`${node.url}/jobs/not-a-number`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.field, "jobId");
      assert.match(bad.body.error.message, /positive integer/);
      const missing = await getJson(`${node.url}/jobs/77`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, "job_not_found");
      const noRoute = await getJson(`${node.url}/nope`);
      assert.equal(noRoute.status, 404);
      assert.equal(noRoute.body.error.code, "not_found");
    } finally {
      node.child.kill("SIGTERM");
      assert.equal(await node.exited, 0, node.output());
    }
    assert.match(node.output(), /"msg":"node stopped"/);
  });

  it("claims an on-chain job, survives SIGKILL mid-phase, resumes and submits exactly once", async () => {
    const first = await startNodeProcess();
    await createJob(t, requester, parseEther("50"));
    await t.rpc("hardhat_mine", ["0x1"]); // one confirmation
    const workLog = join(dataDir, "jobs", "1", "phases.log");
    await waitUntil("training to start", async () => existsSync(workLog) && (await readFile(workLog, "utf8")).includes("train"));
    const claimed = await t.client.readContract({ address: t.addresses.models, abi: t.abis.models, functionName: "getJob", args: [1n] }) as { leaseHolder: string; status: number };
    assert.equal(claimed.leaseHolder, operator.address, "claimed through the contract");
    const recorded = await getJson(`${first.url}/jobs/1`);
    assert.equal(recorded.body.job.status, "running");
    assert.equal(recorded.body.job.phase, "verify");
    assert.match(recorded.body.job.claimTx, /^0x[0-9a-f]{64}$/);

    // Progress streams over server-sent events while the phase runs.
    const stream = await fetch(`${first.url}/jobs/1/events`);
    assert.equal(stream.headers.get("content-type"), "text/event-stream");
    const reader = stream.body!.getReader();
    let sse = "";
    while (!/event: progress\ndata: \{"step":\d+/.test(sse)) sse += new TextDecoder().decode((await reader.read()).value);
    assert.match(sse, /^event: job\ndata: \{"jobId":"1","status":"running"/);
    await reader.cancel();

    // Time passes during the phase: the node renews its lease before it runs out.
    await t.rpc("evm_increaseTime", [2_500]);
    await t.rpc("hardhat_mine", ["0x1"]);
    await waitUntil("the lease to be extended", async () => (await t.client.getContractEvents({
      address: t.addresses.models, abi: t.abis.models, eventName: "LeaseExtended", fromBlock: 0n,
    })).length === 1);

    first.child.kill("SIGKILL");
    await first.exited;
    await writeFile(gate, "open");
    const second = await startNodeProcess();
    try {
      const done = await waitUntil("the job to complete", async () => {
        const j = await getJson(`${second.url}/jobs/1`);
        return j.body.job?.status === "completed" ? j.body.job : undefined;
      }, 60_000);
      assert.equal(done.modelId, "1");
      const phases = (await readFile(workLog, "utf8")).trim().split("\n");
      assert.deepEqual(phases, ["fetch", "verify", "train", "train", "sketch", "evaluate", "upload"], "resumed at the interrupted phase");

      const onChain = await t.client.readContract({ address: t.addresses.models, abi: t.abis.models, functionName: "getJob", args: [1n] }) as { status: number; modelId: bigint };
      assert.equal(onChain.status, 5, "Submitted (paid after the dispute window)");
      const provenance = await t.client.readContract({ address: t.addresses.models, abi: t.abis.models, functionName: "getProvenance", args: [1n] }) as { artifacts: { adapterCid: string } };
      assert.equal(provenance.artifacts.adapterCid, "bafy-test-adapter-1");
      const completed = await t.client.getContractEvents({ address: t.addresses.models, abi: t.abis.models, eventName: "JobResultSubmitted", fromBlock: 0n });
      assert.equal(completed.length, 1);
      // approve + register + approve + addStake + claimJob + submitResult, and one extendLease per LeaseExtended (the
      // restarted node may renew again when the lease nears its end): no second submit was even attempted.
      const extensions = await t.client.getContractEvents({ address: t.addresses.models, abi: t.abis.models, eventName: "LeaseExtended", fromBlock: 0n });
      assert.equal(await t.client.getTransactionCount({ address: operator.address }), 6 + extensions.length);

      // The policy: a job on a base model this node does not hold is skipped, with the reason recorded.
      await t.send(account(0), "models", "registerBaseModel", ["other-base", "bafy-other", "MIT"]);
      await createJob(t, requester, parseEther("50"), 2n);
      await t.rpc("hardhat_mine", ["0x1"]);
      const skipped = await waitUntil("the second job to be skipped", async () => {
        const j = await getJson(`${second.url}/jobs/2`);
        return j.body.job?.status === "skipped" ? j.body.job : undefined;
      });
      assert.equal(skipped.reason, "base model 2 is not held (held: 1)");
      // An open event stream does not hold up shutdown.
      const stream = await fetch(`${second.url}/jobs/1/events`);
      await stream.body!.getReader().read();
    } finally {
      second.child.kill("SIGTERM");
      assert.equal(await second.exited, 0, second.output());
    }

    const status = await runCli(["status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /operator\s+0x[0-9a-fA-F]{40} active/);
    assert.match(status.stdout, /completed\/submit: 1/);
    const list = await runCli(["jobs", "list"]);
    assert.match(list.stdout, /^1\s+completed\s+submit\s+50\s+1\s+model 1$/m);
  });
});
