/**
 * The node with its built-in storage against a real hardhat node and real Helia, driven by the CLI as each role
 * would: a Datanet created, three accounts contributing through the running node, accepted, published (the
 * on-chain root is the manifest's root); a training job whose fetch/verify phases rebuild that version and whose
 * upload phase stores the results; a tampered manifest and an invalid hyper-parameters document failing their
 * jobs with the reason recorded; malformed and oversized uploads refused with 4xx while the node keeps running.
 * Train/evaluate/sketch are first a test stand-in (fixtures/stand-in-training.ts), then, after a restart without
 * it, the built-in phases on the worker engine and the project's base model.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseEther, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import { decodeGradientSketch } from "../../../nodes/src/attribution/gradient-sketch-file.ts";
import { decodeSpanIndex } from "../../../nodes/src/attribution/span-index-file.ts";
import { contentDigest } from "../../../nodes/src/engine/train/tracin-checkpoint.ts";
import { rootOf, type VersionManifest } from "../../../nodes/src/datanets/version-manifest.ts";
import { capabilityMask } from "../../../nodes/src/config/fields.ts";
import { PeerNetwork, TOPICS, type Announcement } from "../../../nodes/src/p2p/index.ts";
import { fetchAdapterArtifact, fetchSpanIndexBytes } from "../../../nodes/src/serve/artifacts.ts";
import { createHeliaNode, HeliaContentStore, type HeliaNode } from "../../../nodes/src/storage/index.ts";
import { account, MIN_STAKE, privateKeyOf, startTestChain, waitUntil, type TestChain } from "./helpers/local-chain.ts";
import { runNodeCli, startNodeCli } from "./helpers/node-cli.ts";

const STAND_IN = fileURLToPath(new URL("./fixtures/stand-in-training.ts", import.meta.url));
const DAPP_ORIGIN = "http://localhost:5173";
const BASE_MODEL = fileURLToPath(new URL("../../../models/tributary-base-v0", import.meta.url));

const owner = account(0);
const requester = account(1);
const operator = account(2);
const contributors = [account(3), account(4), account(5)];
const TEXTS = [
  ["tides.txt", "High tide at the harbour comes about fifty minutes later each day.\n"],
  ["currents.md", "# Currents\n\nThe ebb current runs strongest two hours after high water.\n"],
  ["soundings.jsonl", '{"depth": 12, "unit": "m"}\n{"depth": 9, "unit": "m"}\n'],
] as const;

// Generous limits: real training on 2 shared cores can run several times slower than alone; the test checks outcomes, not speed.
describe("Datanets and jobs through the CLI and a running node", { timeout: 900_000 }, () => {
  let t: TestChain;
  let node: ChildProcess;
  let nodeUrl: string;
  let nodeOutput = (): string => "";
  let deploymentFile: string;
  let dataDir: string;
  // A peer the node is told to dial (--peer), listening to the job-progress gossip.
  let listener: HeliaNode;
  let listenerAddress: string;
  const gossip: Announcement<typeof TOPICS.jobs>[] = [];
  const modelGossip: Announcement<typeof TOPICS.models>[] = [];

  const runCli = (args: string[], as = owner) => runNodeCli([...args, "--deployment", deploymentFile, "--operator-key", privateKeyOf(as)]);

  async function startNodeProcess(extra: string[]): Promise<void> {
    ({ child: node, url: nodeUrl, output: nodeOutput } = await startNodeCli(["--deployment", deploymentFile, "--data-dir", dataDir, "--operator-key", privateKeyOf(operator),
      "--port", "0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--confirmations", "1", "--poll-interval", "100", "--cors-origin", DAPP_ORIGIN, ...extra], 60_000));
  }

  async function stopNodeProcess(): Promise<void> {
    if (!node || node.exitCode !== null) return;
    const exited = new Promise<number | null>((resolve) => node.once("exit", resolve));
    node.kill("SIGTERM");
    assert.equal(await exited, 0, nodeOutput());
  }

  const read = (contract: "datanets" | "models" | "token", functionName: string, args: readonly unknown[]) =>
    t.client.readContract({ address: t.addresses[contract], abi: t.abis[contract], functionName, args } as never) as Promise<any>;
  const getJson = async (path: string) => {
    const response = await fetch(`${nodeUrl}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const jobWhen = (jobId: number, statuses: string[]) => waitUntil(`job ${jobId} to be ${statuses.join(" or ")}`, async () => {
    const { body } = await getJson(`/jobs/${jobId}`);
    return statuses.includes(body.job?.status) ? body.job : undefined;
  }, 60_000);

  /** Moves chain time past the job's payableAt: the node releases its fee once, and leaves the disputed job 1 alone. */
  async function releasesTheFeeAfterTheDisputeWindow(jobId: number): Promise<void> {
    const onChain = await read("models", "getJob", [BigInt(jobId)]);
    assert.equal(onChain.status, 5, "Submitted: the fee is held");
    const balance = await read("token", "balanceOf", [operator.address]);
    const now = (await t.client.getBlock()).timestamp;
    await t.rpc("evm_increaseTime", [Number(onChain.payableAt - now) + 1]);
    await t.rpc("hardhat_mine", ["0x1"]);
    const released = await waitUntil(`job ${jobId}'s fee to be released`, async () => {
      const { body } = await getJson(`/jobs/${jobId}`);
      return body.job.payment === "released" ? body.job : undefined;
    }, 30_000);
    assert.match(released.releaseTx, /^0x[0-9a-f]{64}$/);
    assert.equal((await read("models", "getJob", [BigInt(jobId)])).status, 2, "Completed on-chain");
    assert.equal(await read("token", "balanceOf", [operator.address]), balance + onChain.fee, "the fee reached the operator");
    assert.equal((await read("models", "getJob", [1n])).status, 6, "the disputed job stays Disputed");
    assert.equal((await getJson("/jobs/1")).body.job.payment, "disputed");
    // Later ticks send nothing more: the operator's balance stays where the release put it.
    await t.rpc("hardhat_mine", ["0x2"]);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await read("token", "balanceOf", [operator.address]), balance + onChain.fee);
  }

  before(async () => {
    t = await startTestChain();
    deploymentFile = join(t.dir, "deployment.json");
    await writeFile(deploymentFile, JSON.stringify(t.deployment));
    dataDir = join(t.dir, "node");
    for (const [i, [name, text]] of TEXTS.entries()) await writeFile(join(t.dir, name), text);
    await t.send(owner, "models", "registerBaseModel", ["tributary-base-v0", "bafy-base", "Apache-2.0"]);
    for (const a of [requester, operator, ...contributors]) await t.send(owner, "token", "transfer", [a.address, parseEther("1000")]);
    await t.send(operator, "token", "approve", [t.addresses.nodes, MIN_STAKE]);
    await t.send(operator, "nodes", "register", ["12D3KooWTestPeer", "http://127.0.0.1:1", capabilityMask(["training", "storage"]), MIN_STAKE]);

    listener = await createHeliaNode({ dataDir: join(t.dir, "listener") });
    const listenerNetwork = new PeerNetwork(listener.libp2p);
    listenerNetwork.start();
    listenerNetwork.onAnnouncement(TOPICS.jobs, (a) => gossip.push(a));
    listenerNetwork.onAnnouncement(TOPICS.models, (a) => modelGossip.push(a));

    listenerAddress = listenerNetwork.multiaddrs()[0];
    await startNodeProcess(["--peer", listenerAddress, "--base-model", `1=${t.dir}`, "--extension", STAND_IN]);
  });

  after(async () => {
    await stopNodeProcess();
    await listener?.stop();
    await t?.close();
  });

  it("refuses malformed and oversized uploads with 4xx, keeps running, and lets the dApp's origin call it", async () => {
    const upload = (body: Uint8Array | string, type: string, metadata: unknown = { title: "x", licence: "CC0-1.0", language: "en" }) =>
      fetch(`${nodeUrl}/v1/contributions`, { method: "POST", body, headers: { "content-type": type, "x-contribution-metadata": encodeURIComponent(JSON.stringify(metadata)) } });
    const cases: Array<[Response, number, string]> = [
      [await upload(new Uint8Array([0x68, 0xff, 0xfe]), "text/plain"), 400, "invalid_utf8"],
      [await upload('{"ok": 1}\nnot json\n', "application/jsonl"), 400, "invalid_jsonl"],
      [await upload("hello", "image/png"), 415, "unsupported_media_type"],
      [await upload("hello", "text/plain", { title: "x" }), 400, "invalid_metadata"],
    ];
    for (const [response, status, code] of cases) {
      assert.equal(response.status, status, code);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, code);
    }
    // Over the 16 MiB limit: refused from the declared length, before the body is read.
    const oversized = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${nodeUrl}/v1/contributions`, {
        method: "POST",
        headers: { "content-type": "text/plain", "content-length": String(17 * 1024 * 1024), "x-contribution-metadata": encodeURIComponent(JSON.stringify({ title: "x", licence: "CC0-1.0", language: "en" })) },
      }, (response) => {
        let body = "";
        response.on("data", (d) => (body += d));
        response.on("end", () => {
          request.destroy();
          resolve({ status: response.statusCode!, body });
        });
      });
      request.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error)));
      request.write(new Uint8Array(64 * 1024).fill(0x61));
    });
    assert.equal(oversized.status, 413);
    assert.equal(JSON.parse(oversized.body).error.code, "too_large");

    const badHyperparameters = await fetch(`${nodeUrl}/v1/hyperparameters`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ rank: 4 }) });
    assert.equal(badHyperparameters.status, 400);

    const health = await getJson("/health");
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal(health.body.checks.storage.ok, true);
    assert.equal(health.body.checks.storage.kind, "helia");
    await waitUntil("the configured peer to be dialed", async () => (await getJson("/health")).body.checks.storage.peers === 1);
    assert.match(health.body.checks.storage.listen[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+/);

    const preflight = await fetch(`${nodeUrl}/v1/contributions`, {
      method: "OPTIONS", headers: { origin: DAPP_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type, x-contribution-metadata" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), DAPP_ORIGIN);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /x-contribution-metadata/);
    // The dApp's playground pays each chat request with a voucher header: the browser must be allowed to send it.
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /x-tributary-voucher/);
    const stranger = await fetch(`${nodeUrl}/health`, { headers: { origin: "http://evil.example" } });
    assert.equal(stranger.headers.get("access-control-allow-origin"), null);
  });

  it("creates a Datanet, takes three contributions, accepts them and publishes a version whose root is the manifest's", async () => {
    const created = await runCli(["datanet", "create", "--name", "Harbour pilotage", "--licence", "CC-BY-4.0", "--stake", "2", "--forfeit-rejected", "--node", nodeUrl]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Created Datanet 1 "Harbour pilotage" \(licence CC-BY-4.0, stake 2 per contribution, forfeited on rejection/);

    const unconfirmed = await runCli(["datanet", "contribute", "1", join(t.dir, TEXTS[0][0]), "--node", nodeUrl], contributors[0]);
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stderr, /stake of 2 tokens .* FORFEITED/);
    assert.match(unconfirmed.stderr, /pass --yes/);

    for (const [i, [name]] of TEXTS.entries()) {
      const result = await runCli(["datanet", "contribute", "1", join(t.dir, name), "--node", nodeUrl, "--yes"], contributors[i]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^Contributed .*${name.replace(".", "\\.")} to Datanet 1 as contribution #${i + 1}, id \\d+`));
    }
    const balance = await read("token", "balanceOf", [contributors[0].address]);
    assert.equal(balance, parseEther("998"), "the stake was pulled");

    const listed = await runCli(["datanet", "contributions", "1", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const contributions = JSON.parse(listed.stdout) as Array<{ contributionId: string; status: string; contributor: string; number: number }>;
    assert.deepEqual(contributions.map((c) => [c.number, c.status, c.contributor]), contributors.map((a, i) => [i + 1, "pending", a.address]));

    const notCurator = await runCli(["datanet", "accept", "1", contributions[0].contributionId], contributors[0]);
    assert.equal(notCurator.code, 2);
    assert.match(notCurator.stderr, /neither the owner nor a curator/);
    const accepted = await runCli(["datanet", "accept", "1", ...contributions.map((c) => c.contributionId)]);
    assert.equal(accepted.code, 0, accepted.stderr);
    const again = await runCli(["datanet", "accept", "1", contributions[0].contributionId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /DatanetRegistry reverted: ContributionNotPending\(contributionId=\d+, status=2\)/);

    const published = await runCli(["datanet", "publish", "1", "--node", nodeUrl]);
    assert.equal(published.code, 0, published.stderr);
    const [, root, manifestCid] = /root (0x[0-9a-f]{64}), manifest (\S+);/.exec(published.stdout)!;
    assert.match(published.stdout, /^Published Datanet 1 version 1: 3 contributions/);
    const [onChainRoot, onChainCid] = await read("datanets", "versionRoot", [1n, 1]);
    assert.equal(onChainRoot, root);
    assert.equal(onChainCid, manifestCid);
    const manifest = (await getJson(`/ipfs/${manifestCid}`)).body as VersionManifest;
    assert.equal(rootOf(manifest), onChainRoot, "the manifest's contributions hash to the on-chain root");
    assert.deepEqual(manifest.contributions.map((c) => c.contributor), contributors.map((a) => a.address));
  });

  it("runs a job whose fetch/verify phases rebuild the published version and whose upload stores the results", async () => {
    const bad = join(t.dir, "bad-hyperparameters.json");
    await writeFile(bad, JSON.stringify({ format: "tributary.hyperparameters/1", rank: 0, alpha: 8, targetModules: ["q_proj"], learningRate: 0.001, epochs: 1, batchSize: 4, sequenceLength: 64, seed: 1 }));
    const before = await read("token", "balanceOf", [requester.address]);
    const refused = await runCli(["job", "create", "--base-model", "1", "--datanet", "1", "--hyperparameters", bad, "--fee", "10", "--node", nodeUrl], requester);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /Invalid hyper-parameters in .*bad-hyperparameters\.json: rank must be >= 1/);
    assert.equal(await read("token", "balanceOf", [requester.address]), before, "no fee was spent");
    assert.equal(await read("models", "jobCount", []), 0n);

    const created = await runCli(["job", "create", "--base-model", "1", "--datanet", "1", "--preset", "tiny", "--fee", "10", "--deadline", "2h", "--node", nodeUrl], requester);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Created job 1: base model 1, Datanet 1 version 1, fee 10,/);
    await t.rpc("hardhat_mine", ["0x1"]);
    const watched = await runCli(["job", "watch", "1", "--node", nodeUrl], requester);
    assert.equal(watched.code, 0, watched.stderr + watched.stdout);
    assert.match(watched.stdout, /Job 1 completed: model 1/);

    const job = await jobWhen(1, ["completed"]);
    // The fee is held for the dispute window; the requester disputes this result, and the node leaves its fee alone.
    const held = await waitUntil("job 1's fee to be recorded as held", async () => {
      const { body } = await getJson("/jobs/1");
      return body.job.payment === "held" ? body.job : undefined;
    }, 20_000);
    assert.equal(BigInt(held.payableAt), (await read("models", "getJob", [1n])).payableAt);
    await t.send(requester, "models", "disputeJobResult", [1n, "bafy-evidence-of-a-bad-adapter"]);
    await t.rpc("hardhat_mine", ["0x1"]);
    await waitUntil("job 1's dispute to be recorded", async () => (await getJson("/jobs/1")).body.job.payment === "disputed", 20_000);
    // The runner's progress went out on the jobs topic, signed by the node's peer id.
    const nodePeerId = (await getJson("/health")).body.checks.storage.peerId;
    await waitUntil("the job's completion to be gossiped", () => gossip.some((a) => a.message.jobId === "1" && a.message.status === "submitted"), 20_000);
    assert.ok(gossip.every((a) => a.from === nodePeerId));
    assert.ok(gossip.some((a) => a.message.jobId === "1" && a.message.status === "training" && a.message.step === 3 && a.message.totalSteps === 3 && a.message.loss === 1));
    const [onChainRoot] = await read("datanets", "versionRoot", [1n, 1]);
    assert.equal(job.outputs.fetch.root, onChainRoot);
    assert.equal(job.outputs.verify.contributions, 3);
    assert.equal(job.outputs.verify.contributors, 3);
    const saved = (await readFile(join(dataDir, "jobs", "1", "training-set.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l).text);
    assert.deepEqual(saved, TEXTS.map(([, text]) => text), "the rebuilt training set is exactly what was contributed");

    const provenance = await read("models", "getProvenance", [1n]);
    assert.deepEqual(job.outputs.upload, { adapterCid: provenance.artifacts.adapterCid, evaluationCid: provenance.artifacts.evaluationCid, attributionIndexCid: provenance.artifacts.attributionIndexCid });
    const adapter = (await getJson(`/ipfs/${provenance.artifacts.adapterCid}`)).body;
    assert.equal(adapter.schema, "tributary.adapter/1");
    assert.equal(adapter.format, "peft-lora");
    assert.equal(adapter.adapterConfig.r, 4, "the tiny preset's rank reached training");
    assert.equal(await (await fetch(`${nodeUrl}/ipfs/${adapter.weights}`)).text(), "stand-in weights over 3 texts");
    const index = (await getJson(`/ipfs/${provenance.artifacts.attributionIndexCid}`)).body;
    assert.equal(index.schema, "tributary.attribution-index/1");
    assert.equal(index.spanIndex, index.files["span-index"].cid);
    const { artifacts } = (await getJson("/jobs/1")).body as { artifacts: Array<{ cid: string; kind: string }> };
    assert.deepEqual(artifacts.map((a) => a.kind).sort(), ["adapter", "adapter-weights", "attribution-file", "attribution-index", "evaluation"]);
    assert.ok(artifacts.some((a) => a.cid === provenance.artifacts.adapterCid && a.kind === "adapter"));
  });

  it("fails a job on a tampered manifest and one on an invalid hyper-parameters document, recording why", async () => {
    const [root, manifestCid] = await read("datanets", "versionRoot", [1n, 1]);
    const manifest = (await getJson(`/ipfs/${manifestCid}`)).body as VersionManifest;
    // Same ids, contributors and digests (so the same root), but the first entry points at other content.
    const tampered = structuredClone(manifest);
    tampered.contributions[0].cid = manifest.contributions[1].cid;
    const stored = await fetch(`${nodeUrl}/v1/contributions`, {
      method: "POST", body: JSON.stringify(tampered) + "\n",
      headers: { "content-type": "application/jsonl", "x-contribution-metadata": encodeURIComponent(JSON.stringify({ title: "m", licence: "CC0-1.0", language: "en" })) },
    });
    assert.equal(stored.status, 201);
    const { cid: tamperedCid, metadataCid } = (await stored.json()) as { cid: string; metadataCid: string };
    await t.send(owner, "datanets", "publishVersion", [1n, root, tamperedCid, 3, 3]);

    const hyperparameters = await fetch(`${nodeUrl}/v1/hyperparameters`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ format: "tributary.hyperparameters/1", rank: 4, alpha: 8, targetModules: ["q_proj"], learningRate: 0.001, epochs: 1, batchSize: 4, sequenceLength: 64, seed: 1 }),
    });
    assert.equal(hyperparameters.status, 201);
    const { cid: hyperParamsCid } = (await hyperparameters.json()) as { cid: string };
    await t.send(requester, "token", "approve", [t.addresses.models, parseEther("20")]);
    const now = (await t.client.getBlock()).timestamp;
    await t.send(requester, "models", "createJob", [{ datanetId: 1n, datanetVersion: 2, baseModelId: 1n, hyperParamsCid, fee: parseEther("10"), deadline: now + 7_200n }]);
    // A job whose hyper-parameters CID names a document that is not hyper-parameters (here, contribution metadata).
    await t.send(requester, "models", "createJob", [{ datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: metadataCid, fee: parseEther("10"), deadline: now + 7_200n }]);
    await t.rpc("hardhat_mine", ["0x1"]);

    const failedTampered = await jobWhen(2, ["failed"]);
    assert.match(failedTampered.reason, new RegExp(`^fetch failed: Contribution ${manifest.contributions[0].contributionId}: CID ${manifest.contributions[1].cid} does not have the committed digest ${manifest.contributions[0].digest as Hex}`));
    const failedHyperparameters = await jobWhen(3, ["failed"]);
    assert.match(failedHyperparameters.reason, new RegExp(`^fetch failed: Invalid hyper-parameters document ${metadataCid}: `));

    const health = await getJson("/health");
    assert.equal(health.body.checks.storage.ok, true, "the node keeps running");
  });

  it("trains, evaluates and indexes with the worker engine on the real base model when no extension replaces those phases", async () => {
    await stopNodeProcess();
    await startNodeProcess(["--base-model", `1=${BASE_MODEL}`, "--peer", listenerAddress]);
    const created = await runCli(["job", "create", "--base-model", "1", "--datanet", "1", "--version", "1", "--preset", "tiny", "--fee", "10", "--deadline", "2h", "--node", nodeUrl], requester);
    assert.equal(created.code, 0, created.stderr);
    const jobId = Number(/^Created job (\d+)/.exec(created.stdout)![1]);
    await t.rpc("hardhat_mine", ["0x1"]);
    const watched = await runCli(["job", "watch", String(jobId), "--node", nodeUrl], requester);
    assert.equal(watched.code, 0, watched.stdout + watched.stderr + nodeOutput());
    assert.match(watched.stdout, new RegExp(`Job ${jobId} completed: model \\d+`));

    const job = await jobWhen(jobId, ["completed"]);
    await releasesTheFeeAfterTheDisputeWindow(jobId);
    const { progress } = (await getJson(`/jobs/${jobId}`)).body;
    assert.equal(progress.step, progress.totalSteps, "the engine's last optimizer step was reported");
    assert.ok(Number.isFinite(progress.loss) && progress.loss > 0 && progress.tokensPerSecond > 0);
    assert.equal(job.outputs.train.heldOutContributionIds.length, 1, "one of three contributions held out");
    assert.ok(job.outputs.train.steps >= 1);
    // The record keeps the loss curve (one [step, loss] per step here), for a client that opens the finished job.
    assert.equal(job.outputs.train.losses.length, job.outputs.train.steps);
    assert.ok(job.outputs.train.losses.every(([step, loss]: [number, number]) => Number.isInteger(step) && Number.isFinite(loss)));
    const provenance = await read("models", "getProvenance", [BigInt(job.modelId)]);
    const adapter = (await getJson(`/ipfs/${provenance.artifacts.adapterCid}`)).body;
    assert.equal(adapter.schema, "tributary.adapter/1");
    assert.equal(adapter.adapterConfig.r, 4);
    assert.deepEqual(adapter.adapterConfig.target_modules, ["q_proj", "v_proj"]);
    const evaluation = (await getJson(`/ipfs/${provenance.artifacts.evaluationCid}`)).body;
    assert.equal(evaluation.heldOutContributions, 1);
    assert.ok(Number.isFinite(evaluation.report.base.loss) && Number.isFinite(evaluation.report.adapter.loss));
    // The base model's published control text (models/tributary-base-v0/control.jsonl): did the adapter forget general English?
    assert.ok(Number.isFinite(evaluation.report.control.base.loss) && Number.isFinite(evaluation.report.control.adapter.loss), JSON.stringify(evaluation.report.control));
    // The attribution section: three one-line contributions are too small a Datanet to measure, and the report says so.
    assert.equal(evaluation.format, "tributary.evaluation/2");
    assert.equal(evaluation.attribution.schema, "tributary.attribution-quality/2");
    assert.equal(evaluation.attribution.measured, false);
    assert.equal(evaluation.attribution.candidates, 3);
    assert.equal(evaluation.attribution.assessment.verdict, "not-measurable");
    assert.equal(evaluation.attribution.assessment.reason, "too-few-probes");
    const index = (await getJson(`/ipfs/${provenance.artifacts.attributionIndexCid}`)).body;
    const spanIndex = decodeSpanIndex(new Uint8Array(await (await fetch(`${nodeUrl}/ipfs/${index.spanIndex}`)).arrayBuffer()));
    const [root] = await read("datanets", "versionRoot", [1n, 1]);
    assert.equal(spanIndex.datanetRoot, root);
    assert.equal(spanIndex.contributionIds.length, 3);
    // Another node (the listener peer) fetches the artifacts over bitswap and reads them as serving does.
    const peerStore = new HeliaContentStore(listener);
    const fetched = await fetchAdapterArtifact(peerStore, provenance.artifacts.adapterCid);
    assert.equal(fetched.adapterConfig.r, 4);
    assert.ok(fetched.safetensors.byteLength > 0);
    assert.equal(decodeSpanIndex(await fetchSpanIndexBytes(peerStore, provenance.artifacts.attributionIndexCid)).datanetRoot, root);
    const tracin = Object.keys(index.files).filter((name) => /^checkpoints\/tracin-step-\d+\.safetensors$/.test(name));
    assert.ok(tracin.length >= 1, `TracIn checkpoints published: ${Object.keys(index.files).join(", ")}`);

    // The gradient sketch: published with its provenance, every input named by the digest of a published file.
    const bytesAt = async (cid: string) => new Uint8Array(await (await fetch(`${nodeUrl}/ipfs/${cid}`)).arrayBuffer());
    const { gradientSketch } = index;
    assert.equal(gradientSketch.cid, index.files["gradient-sketch"].cid);
    const sketchBytes = await bytesAt(gradientSketch.cid);
    assert.equal(contentDigest(sketchBytes), gradientSketch.digest);
    const sketch = decodeGradientSketch(sketchBytes);
    assert.equal(sketch.provenance!.baseModel, contentDigest(await readFile(join(BASE_MODEL, "model.safetensors"))));
    assert.equal(gradientSketch.baseModel, sketch.provenance!.baseModel);
    assert.deepEqual(gradientSketch.projection, { kind: "kronecker-rademacher", seed: 1, dims: 256 });
    assert.deepEqual(sketch.provenance!.projection, gradientSketch.projection);
    assert.equal(sketch.provenance!.sequenceLength, 64);
    // Compared by cosine, over every layer: the sketch file and the index document say the same.
    assert.equal(sketch.provenance!.similarity, "cosine");
    assert.equal(gradientSketch.similarity, "cosine");
    assert.equal(sketch.provenance!.lastLayers, undefined);
    assert.equal(gradientSketch.checkpoints.length, tracin.length);
    // One epoch: one TracIn checkpoint, at the end of training (tracinStepsAtEpochs).
    assert.equal(tracin.length, 1);
    for (const checkpoint of gradientSketch.checkpoints) {
      assert.equal(contentDigest(await bytesAt(checkpoint.cid)), checkpoint.digest, `checkpoint at step ${checkpoint.step}`);
      assert.equal(index.files[checkpoint.file].cid, checkpoint.cid);
    }
    assert.deepEqual(sketch.provenance!.checkpoints.map((c) => c.digest), gradientSketch.checkpoints.map((c: { digest: string }) => c.digest));
    const heldOut = new Set(job.outputs.train.heldOutContributionIds);
    const trainedIds = spanIndex.contributionIds.filter((id) => !heldOut.has(id.toString())).sort();
    assert.deepEqual([...sketch.exampleContributionIds].sort(), trainedIds, "every trained contribution, none held out");
    assert.equal(contentDigest(await bytesAt(index.spanIndex)), index.spanIndexDigest);
  });

  it("survives SIGKILL in the middle of real training: the restarted node resumes from the trainer checkpoint and submits once", async () => {
    const long = join(t.dir, "long-hyperparameters.json");
    // Two short training texts are one window each: two steps an epoch at batch 1, so 100 epochs are 200 steps, checkpointed every 20.
    await writeFile(long, JSON.stringify({ format: "tributary.hyperparameters/1", rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"], learningRate: 1e-3, epochs: 100, batchSize: 1, sequenceLength: 64, seed: 1 }));
    const created = await runCli(["job", "create", "--base-model", "1", "--datanet", "1", "--version", "1", "--hyperparameters", long, "--fee", "10", "--deadline", "2h", "--node", nodeUrl], requester);
    assert.equal(created.code, 0, created.stderr);
    const jobId = Number(/^Created job (\d+)/.exec(created.stdout)![1]);
    await t.rpc("hardhat_mine", ["0x1"]);
    const state = join(dataDir, "jobs", String(jobId), "trainer-checkpoints", "trainer-state.json");
    await waitUntil("the first trainer checkpoint", () => existsSync(state), 400_000);
    const exited = new Promise((resolve) => node.once("exit", resolve));
    node.kill("SIGKILL");
    await exited;
    const killedAt = JSON.parse(await readFile(state, "utf8")).step as number;
    assert.ok(killedAt >= 1 && killedAt < 200, `killed mid-training (checkpoint at step ${killedAt})`);

    await startNodeProcess(["--base-model", `1=${BASE_MODEL}`, "--peer", listenerAddress]);
    const job = await waitUntil(`job ${jobId} to complete after the restart`, async () => {
      const { body } = await getJson(`/jobs/${jobId}`);
      if (body.job.status === "failed") throw new Error(`job failed: ${body.job.reason}\n${nodeOutput()}`);
      return body.job.status === "completed" && body.job.outputs.submit ? body.job : undefined;
    }, 600_000);
    assert.ok(job.outputs.train.resumedFromStep >= killedAt, `resumed from step ${job.outputs.train.resumedFromStep}, not from scratch`);
    assert.equal(job.outputs.train.steps, 200);
    const submitted = await t.client.getContractEvents({
      address: t.addresses.models, abi: t.abis.models, eventName: "JobResultSubmitted", args: { jobId: BigInt(jobId) }, fromBlock: 0n,
    } as never);
    assert.equal(submitted.length, 1, "submitted exactly once");
  });

  it("serves the trained models when started with --serve all: lists them, answers a paid chat completion, and announces them on gossip", async () => {
    const modelCount = Number(await read("models", "modelCount", []));
    const trained = BigInt(modelCount); // the last test's model, trained by the worker engine
    await t.send(requester, "models", "setModelPrice", [trained, 1_000_000n]);
    const payer = account(6);
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    await t.send(owner, "token", "transfer", [payer.address, parseEther("10")]);
    await t.send(payer, "token", "approve", [t.addresses.settlement, parseEther("10")]);
    await t.send(payer, "settlement", "deposit", [parseEther("5")]);
    const now = (await t.client.getBlock()).timestamp;
    await t.send(payer, "settlement", "authorizeSessionKey", [sessionKey.address, parseEther("1"), now + 86_400n]);

    await stopNodeProcess();
    await startNodeProcess(["--base-model", `1=${BASE_MODEL}`, "--peer", listenerAddress, "--serve", "all"]);
    const listed = await getJson("/v1/models");
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const names = (listed.body.data as Array<{ id: string }>).map((m) => m.id).sort();
    assert.deepEqual(names, Array.from({ length: modelCount }, (_, i) => `tributary:${i + 1}`).sort(), "every model on the held base model");

    const payingFetch = createPayingFetch({ sessionKey, payer: payer.address });
    const response = await payingFetch(`${nodeUrl}/v1/chat/completions`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: `tributary:${trained}`, messages: [{ role: "user", content: "When is high tide?" }], max_tokens: 8, temperature: 0 }),
    });
    const completion = await response.json() as Record<string, any>;
    assert.equal(response.status, 200, JSON.stringify(completion) + nodeOutput());
    assert.equal(completion.object, "chat.completion");
    assert.equal(typeof completion.choices[0].message.content, "string");
    assert.ok(completion.usage.completion_tokens >= 1);

    const nodePeerId = (await getJson("/health")).body.checks.storage.peerId;
    const announced = await waitUntil("the served models to be announced", () => modelGossip.find((a) => a.from === nodePeerId), 30_000);
    assert.equal(announced.message.endpoint, "http://127.0.0.1:1/v1", "the endpoint registered in the NodeRegistry");
    assert.equal(announced.message.operator.toLowerCase(), operator.address.toLowerCase());
    assert.deepEqual(announced.message.models.find((m) => m.modelId === String(trained)), { modelId: String(trained), pricePer1kTokens: "1000000" });
    assert.equal(announced.message.models.length, modelCount);
  });
});
