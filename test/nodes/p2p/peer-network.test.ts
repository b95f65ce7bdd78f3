import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHeliaNode, HeliaContentStore, type HeliaNode } from "../../../nodes/src/storage/index.ts";
import { InvalidMessageError, PeerConnectError, PeerNetwork, TOPICS, validateMessage, type Announcement, type ModelAnnouncement, type Topic } from "../../../nodes/src/p2p/index.ts";
import { pseudoRandomBytes, tempDir } from "../storage/helpers.ts";

const OPERATOR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const announcement = (endpoint: string): ModelAnnouncement => ({
  kind: "models",
  endpoint,
  chainId: 31337,
  operator: OPERATOR,
  models: [{ modelId: "1", pricePer1kTokens: "2500" }, { modelId: "7", pricePer1kTokens: "100" }],
  sentAt: Date.now(),
});

/** Publishes until the listener has seen a message satisfying `seen` (gossipsub needs its mesh first). */
async function publishUntil<T extends Topic>(received: Announcement<T>[], seen: (a: Announcement<T>) => boolean, publish: () => Promise<unknown>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!received.some(seen)) {
    if (Date.now() > deadline) throw new Error("no message arrived before the deadline");
    await publish();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("message validation", () => {
  it("accepts well-formed messages and names the bad field otherwise", () => {
    const good = announcement("http://127.0.0.1:8080/v1");
    assert.equal(validateMessage(TOPICS.models, good).operator, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    const bad = (value: unknown, field: string, topic: Topic = TOPICS.models) =>
      assert.throws(() => validateMessage(topic, value), (err: Error) => err instanceof InvalidMessageError && err.field === field);
    bad({ ...good, endpoint: "ftp://x" }, "endpoint");
    bad({ ...good, operator: "0x12" }, "operator");
    bad({ ...good, models: [{ modelId: "01", pricePer1kTokens: "1" }] }, "models[0].modelId");
    bad({ ...good, models: [{ modelId: "1", pricePer1kTokens: "-1" }] }, "models[0].pricePer1kTokens");
    bad({ ...good, sentAt: Date.now() + 3_600_000 }, "sentAt");
    bad({ ...good, extra: 1 }, "extra");
    const job = { kind: "job-progress", chainId: 31337, jobId: "4", status: "training", step: 10, totalSteps: 100, loss: 2.5, tokensPerSecond: 800, etaSeconds: 90, sentAt: Date.now() };
    validateMessage(TOPICS.jobs, job);
    bad({ ...job, status: "done" }, "status", TOPICS.jobs);
    bad({ ...job, step: 101 }, "step", TOPICS.jobs);
    bad({ ...job, loss: Number.NaN }, "loss", TOPICS.jobs);
  });
});

describe("two nodes over TCP on 127.0.0.1", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>[];
  let a: HeliaNode;
  let b: HeliaNode;
  let netA: PeerNetwork;
  let netB: PeerNetwork;
  const rejected: string[] = [];

  before(async () => {
    dirs = [await tempDir("p2p-a"), await tempDir("p2p-b")];
    const started = performance.now();
    a = await createHeliaNode({ dataDir: dirs[0].path });
    console.log(`# node start: ${(performance.now() - started).toFixed(0)} ms`);
    b = await createHeliaNode({ dataDir: dirs[1].path });
    netA = new PeerNetwork(a.libp2p);
    netB = new PeerNetwork(b.libp2p, { onRejected: (_topic, from, err) => rejected.push(`${from}: ${err.field}`) });
    netA.start();
    netB.start();
    const { connected, failed } = await netB.connectAll([netA.multiaddrs()[0], "/ip4/127.0.0.1/tcp/1", "not a multiaddr"], { timeoutMs: 3_000 });
    assert.deepEqual(connected, [netA.peerId]);
    assert.equal(failed.length, 2);
    assert.ok(failed.every((f) => f instanceof PeerConnectError));
    assert.match(failed[1].message, /not a multiaddr/);
  });
  after(async () => {
    netA.stop();
    netB.stop();
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all(dirs.map((d) => d.remove()));
  });

  it("delivers a signed model announcement, with the signer as sender", async () => {
    const received: Announcement<typeof TOPICS.models>[] = [];
    const stop = netB.onAnnouncement(TOPICS.models, (m) => received.push(m));
    const message = announcement("https://node-a.example/v1");
    await publishUntil(received, () => true, () => netA.announce(TOPICS.models, message));
    stop();
    assert.equal(received[0].from, netA.peerId);
    assert.deepEqual(received[0].message, { ...message, operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" });
  });

  it("delivers job progress and drops invalid messages before they reach listeners", async () => {
    const received: Announcement<typeof TOPICS.jobs>[] = [];
    netB.onAnnouncement(TOPICS.jobs, (m) => received.push(m));
    // bypass our own validation to put garbage and a malformed message on the wire
    const pubsub = a.libp2p.services.pubsub;
    await pubsub.publish(TOPICS.jobs, new TextEncoder().encode("{not json"));
    await pubsub.publish(TOPICS.jobs, new TextEncoder().encode(JSON.stringify({ kind: "job-progress", chainId: 1, jobId: "x", sentAt: 0 })));
    const progress = { kind: "job-progress" as const, chainId: 31337, jobId: "9", status: "training" as const, step: 3, totalSteps: 50, loss: 3.1, sentAt: Date.now() };
    await publishUntil(received, (m) => m.message.jobId === "9", () => netA.announce(TOPICS.jobs, progress));
    assert.ok(received.every((m) => m.message.jobId === "9" && m.from === netA.peerId), "only the valid message was delivered");
    assert.ok(rejected.length >= 2, `invalid messages were rejected (${rejected.join("; ")})`);
    await assert.rejects(netA.announce(TOPICS.jobs, { ...progress, step: -1 }), InvalidMessageError);
  });

  it("serves another node's adapter through the gateway, fetched over bitswap and verified", async () => {
    const storeA = new HeliaContentStore(a, { onClose: async () => {} });
    const storeB = new HeliaContentStore(b, { onClose: async () => {} });
    const adapter = pseudoRandomBytes(3 * 1024 * 1024 + 17, 21);
    const cid = await storeA.addBytes(adapter);
    const response = await storeB.gatewayFetch(`ipfs://${cid}`);
    assert.equal(response.status, 200);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), adapter);
  });
});
