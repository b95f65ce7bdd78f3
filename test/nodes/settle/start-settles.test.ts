/**
 * Settlement inside `tributary-node start`, as its own process against a real `hardhat node` (paid-node-fixture.ts):
 * a paid completion through the client helper, then the node's own settlement round redeems the voucher and
 * proposes a credit root on-chain, which after the dispute window credits the contributor whose text the output
 * copied. Then a training job (trivial phases) and a paid request at the same moment: the job's claim and submit
 * and the settlement round's batch all go through the node's one sender, so none collides on a nonce.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseEther, parseEventLogs, zeroHash, type Hex } from "viem";
import type { SettlementDocument } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { createPayingFetch } from "../../../nodes/src/serve/client/paying-fetch.ts";
import { loadSettlementAbis, type SettlementAbis } from "../../../nodes/src/settle/settlement-scheduler.ts";
import { privateKeyOf, waitUntil } from "../node/helpers/local-chain.ts";
import { startNodeCli } from "../node/helpers/node-cli.ts";
import {
  BASE_MODEL_DIR, MAX_TOKENS, MODEL_ID, PLANTED_CONTRIBUTION, PLANTED_CONTRIBUTOR, PROMPT, startPaidNodeFixture, type PaidNodeFixture,
} from "./paid-node-fixture.ts";

const PHASES = fileURLToPath(new URL("../node/fixtures/trivial-phases.ts", import.meta.url));

describe("tributary-node start settles what it serves", { timeout: 600_000 }, () => {
  let f: PaidNodeFixture;
  let abis: SettlementAbis;
  let node: ChildProcess;
  let nodeUrl: string;
  let output = (): string => "";

  before(async () => {
    f = await startPaidNodeFixture();
    abis = await loadSettlementAbis();
    ({ child: node, url: nodeUrl, output } = await startNodeCli(["--deployment", f.deploymentFile, "--data-dir", f.nodeDir, "--operator-key", privateKeyOf(f.operator),
      "--port", "0", "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--confirmations", "0", "--poll-interval", "100", "--base-model", `1=${BASE_MODEL_DIR}`,
      "--serve", String(MODEL_ID), "--settle-interval", "1", "--extension", PHASES], 120_000));
  });

  after(async () => {
    if (node && node.exitCode === null) {
      const exited = new Promise((resolve) => node.once("exit", resolve));
      node.kill("SIGTERM");
      await exited;
    }
    await f?.close();
  });

  const read = <T>(address: Hex, abi: typeof abis.settlement, functionName: string, args: readonly unknown[]) =>
    f.t.client.readContract({ address, abi, functionName, args }) as Promise<T>;
  const redeemed = () => read<bigint>(f.t.addresses.settlement, abis.settlement, "redeemedOf", [f.payer.address, f.operator.address, MODEL_ID]);
  const credits = async () => {
    const pools = await read<Hex>(f.t.addresses.settlement, abis.settlement, "contributorPools", []);
    const [finalizedRoot, , , pool, pendingRoot, pendingBatchId] = await read<[Hex, bigint, bigint, bigint, Hex, bigint]>(pools, abis.pools, "creditsOf", [f.operator.address]);
    return { finalizedRoot, pool, pendingRoot, pendingBatchId };
  };

  let paid = 0n;
  const payingFetch = () => createPayingFetch({
    sessionKey: f.sessionKey, payer: f.payer.address, onPayment: (p) => { paid = p.cumulativeAmount; },
  });
  const complete = async (fetcher: typeof fetch) => {
    const response = await fetcher(`${nodeUrl}/v1/completions`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: `tributary:${MODEL_ID}`, prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0 }),
    });
    const body = await response.json() as Record<string, any>;
    assert.equal(response.status, 200, JSON.stringify(body) + output());
    return body;
  };

  it("serves a paid completion, and its own settlement round redeems the voucher and proposes a credit root; after the window the contributor is credited", async () => {
    const fetcher = payingFetch();
    const completion = await complete(fetcher);
    const attributed = completion.tributary.contributions.map((c: { contribution_id: string }) => c.contribution_id);
    assert.ok(attributed.includes(PLANTED_CONTRIBUTION.toString()), JSON.stringify(completion.tributary));

    await waitUntil("the node's settlement round to redeem the voucher", async () => (await redeemed()) === paid, 60_000);
    const proposed = await waitUntil("the node's credit root", async () => {
      const c = await credits();
      return c.pendingRoot !== zeroHash ? c : undefined;
    }, 60_000);
    assert.ok(proposed.pool > 0n, "the contributor share reached the node's pool");
    assert.equal((await fetch(`${nodeUrl}/v1/credits/${PLANTED_CONTRIBUTOR}`)).status, 404, "in its dispute window");

    await f.t.rpc("evm_increaseTime", [86_400 * 2]);
    await f.t.rpc("evm_mine");
    const response = await fetch(`${nodeUrl}/v1/credits/${PLANTED_CONTRIBUTOR}`);
    assert.equal(response.status, 200);
    const entry = await response.json() as { cumulative: string; root: Hex };
    assert.ok(BigInt(entry.cumulative) > 0n);
    assert.equal(entry.root, proposed.pendingRoot);
  });

  it("a training job's claim and submit and a settlement round in the same process never collide on a nonce", async () => {
    const fetcher = payingFetch();
    const jobId = (await read<bigint>(f.t.addresses.models, f.t.abis.models as never, "jobCount", [])) + 1n;
    const now = (await f.t.client.getBlock()).timestamp;
    // At once: a job the node claims, runs (trivial phases) and submits, and a paid request its next round redeems.
    await Promise.all([
      f.t.send(f.requester, "models", "createJob", [{ datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: "bafy-hparams", fee: parseEther("1"), deadline: now + 7_200n }]),
      complete(fetcher),
    ]);
    await waitUntil("the job to be submitted", async () => {
      const job = await read<{ status: number }>(f.t.addresses.models, f.t.abis.models as never, "getJob", [jobId]);
      return job.status === 5;
    }, 120_000);
    await waitUntil("the second voucher to be redeemed", async () => (await redeemed()) === paid, 60_000);
    const submitted = await f.t.client.getContractEvents({ address: f.t.addresses.models, abi: f.t.abis.models, eventName: "JobResultSubmitted", args: { jobId }, fromBlock: 0n } as never);
    assert.equal(submitted.length, 1, "submitted once");
    assert.doesNotMatch(output(), /nonce moved|nonce too low|settlement round failed|replacement transaction/i, output());
  });

  it("credits an on-chain inference's fee to the contributors its output is attributed to", async () => {
    await f.t.rpc("evm_increaseTime", [86_400 * 2]); // earlier roots final: the next credit batch may go out
    await f.t.rpc("evm_mine");
    const fee = 100_000n;
    await f.t.send(f.requester, "token", "approve", [f.t.addresses.settlement, fee]);
    await f.t.send(f.requester, "settlement", "requestInference", [MODEL_ID, f.operator.address, f.promptCid, BigInt(MAX_TOKENS), fee]);
    const requestId = await read<bigint>(f.t.addresses.settlement, abis.settlement, "inferenceRequestCount", []);
    const served = await waitUntil("the node to serve the on-chain request", async () => {
      const events = await f.t.client.getContractEvents({ address: f.t.addresses.settlement, abi: abis.settlement, eventName: "InferenceServed", fromBlock: 0n });
      return events.find((e) => (e as unknown as { args: { requestId: bigint } }).args.requestId === requestId);
    }, 120_000);
    const receipt = await f.t.client.getTransactionReceipt({ hash: served.transactionHash! });
    const split = parseEventLogs({ abi: abis.settlement, logs: receipt.logs, eventName: "ModelRevenueSplit" as never })[0] as unknown as { args: { contributorShare: bigint } };
    assert.ok(split.args.contributorShare > 0n);

    const recordId = `onchain-${requestId}`;
    const find = async (): Promise<SettlementDocument | undefined> => {
      const settled = await f.t.client.getContractEvents({ address: f.t.addresses.settlement, abi: abis.settlement, eventName: "BatchSettled", fromBlock: served.blockNumber! });
      for (const event of settled as unknown as { args: { creditRoot: Hex; recordsCid: string } }[]) {
        if (event.args.creditRoot === zeroHash) continue;
        const doc = await (await fetch(`${nodeUrl}/ipfs/${event.args.recordsCid}`)).json() as SettlementDocument;
        if (doc.records.some((r) => r.requestId === recordId)) return doc;
      }
      return undefined;
    };
    // A root proposed meanwhile (the last test's records) holds the next one back for its window: let windows pass.
    let document: SettlementDocument | undefined;
    for (let second = 0; second < 60 && document === undefined; second++) {
      await f.t.rpc("evm_increaseTime", [86_400 * 2]);
      await f.t.rpc("evm_mine");
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      document = await find();
    }
    assert.ok(document, `no credit root credits ${recordId}:\n${output().slice(-4000)}`);
    assert.deepEqual(document.batch.pools.find((p) => p.requestId === recordId), { requestId: recordId, amount: split.args.contributorShare.toString() },
      "the record's pool is exactly the contributor share the chain split off the fee");
    const planted = document.batch.credits.find((c) => c.account === PLANTED_CONTRIBUTOR)!;
    assert.ok(BigInt(planted.added) > 0n, "the contribution the output copied is credited");
  });
});
