/**
 * On-chain inference with real parts (serving-node.ts): a requester puts a prompt document on IPFS and calls
 * `Settlement.requestInference` naming the node; the node's follower picks up `InferenceRequested`, the engine
 * generates, the attribution and the result go to IPFS, and the node answers with `serveInference`, which splits
 * the fee on-chain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseEventLogs } from "viem";
import type { TributaryField } from "../../../nodes/src/serve/index.ts";
import { parseCid } from "../../../nodes/src/storage/index.ts";
import { waitUntil } from "../node/helpers/local-chain.ts";
import { PLANTED_CONTRIBUTION, PLANTED_PROMPT, startServingNode, type ServingNode } from "./serving-node.ts";

let s: ServingNode;
before(async () => {
  s = await startServingNode();
}, { timeout: 240_000 });
after(async () => {
  await s?.close();
});

describe("on-chain inference", () => {
  it("serves a requestInference naming the node: result on IPFS with attribution, answered on-chain, fee split", async () => {
    const { t } = s;
    const promptCid = await s.store.addJson({ schema: "tributary.inference-prompt/1", prompt: PLANTED_PROMPT, temperature: 0 });
    const fee = 24_000n; // price 1,000,000 per 1k tokens × 24 tokens
    const earningsBefore = (await t.client.readContract({ address: t.addresses.settlement, abi: t.abis.settlement, functionName: "earningsOf", args: [s.operator] })) as bigint;
    const hash = await t.send(s.payer, "settlement", "requestInference", [s.modelId, s.operator, promptCid.toString(), 24n, fee]);
    const receipt = await t.client.getTransactionReceipt({ hash });
    const [requested] = parseEventLogs({ abi: t.abis.settlement, logs: receipt.logs, eventName: "InferenceRequested" }) as unknown as { args: { requestId: bigint } }[];

    const served = await waitUntil("InferenceServed", async () => {
      const logs = (await t.client.getContractEvents({ address: t.addresses.settlement, abi: t.abis.settlement, eventName: "InferenceServed", fromBlock: 0n })) as unknown as { args: { requestId: bigint; node: string; resultCid: string } }[];
      return logs.find((l) => l.args.requestId === requested.args.requestId);
    }, 120_000);
    assert.equal(served.args.node, s.operator);
    const result = await s.store.getJson<{ schema: string; text: string; tributary: TributaryField }>(parseCid(served.args.resultCid));
    assert.equal(result.schema, "tributary.inference-result/1");
    assert.equal(result.text, await s.engine.decode("base-1", s.plantedOutput));
    assert.equal(result.tributary.contributions[0].contribution_id, PLANTED_CONTRIBUTION.toString());
    const [, , , , status] = (await t.client.readContract({ address: t.addresses.settlement, abi: t.abis.settlement, functionName: "inferenceRequestOf", args: [requested.args.requestId] })) as unknown as [string, bigint, bigint, bigint, number];
    assert.equal(status, 2, "served");
    const earningsAfter = (await t.client.readContract({ address: t.addresses.settlement, abi: t.abis.settlement, functionName: "earningsOf", args: [s.operator] })) as bigint;
    assert.ok(earningsAfter > earningsBefore, "the node's share of the fee");
  });
});
