import { describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import { batchStatus, readSettlementDocument, summarizeEarnings, type NodeCreditState, type NodeEarnings } from "../src/lib/rewards.ts";
import { fetchCredit } from "../src/node-api/credits.ts";
import { parseRoute } from "../src/router.ts";

const ME = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address;
const NODE_A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const NODE_B = "0x90F79bf6EB2c4f870365E785982E1f101E93b906" as Address;
const ZERO = `0x${"0".repeat(64)}` as Hex;
const root = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const proof = (n: number) => [root(100 + n)];

const credits = (over: Partial<NodeCreditState>): NodeCreditState => ({ finalizedRoot: ZERO, finalizedTotal: 0n, claimedTotal: 0n, pool: 0n, pendingRoot: ZERO, pendingBatchId: 0n, pendingUntil: 0n, pendingChallenged: false, ...over });

describe("rewards", () => {
  it("reads the account's leaf and the paid models from a settlement document", () => {
    const doc = { schema: "tributary.settlement-document/1", batch: { credits: [{ account: ME.toLowerCase(), cumulative: "300", added: "100", proof: proof(1) }] }, records: [{ model: { id: "1" } }, { model: { id: "2" } }, { model: { id: "1" } }] };
    expect(readSettlementDocument(doc, ME)).toEqual({ entry: { cumulative: 300n, added: 100n, proof: proof(1) }, modelIds: ["1", "2"] });
    expect(readSettlementDocument(doc, NODE_A)).toEqual({ entry: undefined, modelIds: ["1", "2"] });
    expect(readSettlementDocument({ nope: 1 }, ME)).toBeUndefined();
  });

  it("tells final, pending, challenged and superseded batches apart", () => {
    const state = credits({ finalizedRoot: root(2), pendingRoot: root(3), pendingUntil: 1000n });
    const batch = (r: Hex) => ({ batchId: 1n, creditRoot: r, disputeUntil: 0n, recordsCid: "c", modelIds: [] });
    expect(batchStatus(batch(root(2)), state, 10n)).toBe("final");
    expect(batchStatus(batch(root(3)), state, 10n)).toBe("pending");
    expect(batchStatus(batch(root(3)), state, 1000n)).toBe("final");
    expect(batchStatus(batch(root(3)), { ...state, pendingChallenged: true }, 10n)).toBe("challenged");
    expect(batchStatus(batch(root(1)), state, 10n)).toBe("superseded");
  });

  it("claims every node's final credit minus what was claimed, in one list, and counts pending apart", () => {
    const nodes: NodeEarnings[] = [
      {
        node: NODE_A, claimed: 50n, credits: credits({ finalizedRoot: root(2), pendingRoot: root(3), pendingUntil: 1000n }),
        batches: [
          { batchId: 1n, creditRoot: root(1), disputeUntil: 0n, recordsCid: "b1", modelIds: ["1"], entry: { cumulative: 50n, added: 50n, proof: proof(1) } },
          { batchId: 2n, creditRoot: root(2), disputeUntil: 0n, recordsCid: "b2", modelIds: ["1"], entry: { cumulative: 120n, added: 70n, proof: proof(2) } },
          { batchId: 4n, creditRoot: root(3), disputeUntil: 1000n, recordsCid: "b4", modelIds: ["2"], entry: { cumulative: 200n, added: 80n, proof: proof(3) } },
        ],
      },
      { node: NODE_B, claimed: 0n, credits: credits({ finalizedRoot: root(5) }), batches: [{ batchId: 3n, creditRoot: root(5), disputeUntil: 0n, recordsCid: "b3", modelIds: [], unreadable: true }], apiCredit: { cumulative: 40n, proof: proof(5), root: root(5) } },
    ];
    const summary = summarizeEarnings(nodes, 10n);
    expect(summary.claims).toEqual([
      { node: NODE_A, cumulativeAmount: 120n, proof: proof(2), amount: 70n },
      { node: NODE_B, cumulativeAmount: 40n, proof: proof(5), amount: 40n },
    ]);
    expect(summary).toMatchObject({ claimable: 110n, pending: 80n, claimed: 50n, missingProofs: [] });
    expect(summary.rows.map((r) => [r.batchId, r.status])).toEqual([[4n, "pending"], [2n, "final"], [1n, "superseded"]]);
  });

  it("names a node whose final credit cannot be proven, and claims nothing already claimed", () => {
    const unreadable: NodeEarnings = { node: NODE_B, claimed: 0n, credits: credits({ finalizedRoot: root(5) }), batches: [{ batchId: 3n, creditRoot: root(5), disputeUntil: 0n, recordsCid: "b3", modelIds: [], unreadable: true }] };
    expect(summarizeEarnings([unreadable], 10n).missingProofs).toEqual([NODE_B]);
    const done: NodeEarnings = { node: NODE_A, claimed: 120n, credits: credits({ finalizedRoot: root(2) }), batches: [{ batchId: 2n, creditRoot: root(2), disputeUntil: 0n, recordsCid: "b2", modelIds: [], entry: { cumulative: 120n, added: 120n, proof: proof(2) } }] };
    expect(summarizeEarnings([done], 10n).claims).toEqual([]);
  });

  it("reads a node's credit API and ignores nodes without it", async () => {
    let url = "";
    const ok = (async (u: URL) => { url = u.toString(); return new Response(JSON.stringify({ cumulative: "40", proof: proof(5), root: root(5), node: NODE_B })); }) as unknown as typeof fetch;
    expect(await fetchCredit("http://127.0.0.1:8700", ME, ok)).toEqual({ cumulative: 40n, proof: proof(5), root: root(5) });
    expect(url).toBe(`http://127.0.0.1:8700/v1/credits/${ME}`);
    const missing = (async () => new Response("{}", { status: 404 })) as unknown as typeof fetch;
    expect(await fetchCredit("http://n", ME, missing)).toBeUndefined();
    expect(parseRoute("#/rewards")).toEqual({ page: "rewards" });
  });
});
