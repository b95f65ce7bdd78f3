/**
 * What an account earned, from the chain's credit state and the nodes' settlement documents: per node and batch,
 * pending (in a root still inside its dispute window, or challenged) and final (in the node's final root), what is
 * already claimed, and the claims that pay the rest in one `claimMany`.
 */
import type { Address, Hex } from "viem";

export interface NodeCreditState {
  finalizedRoot: Hex;
  finalizedTotal: bigint;
  claimedTotal: bigint;
  pool: bigint;
  pendingRoot: Hex;
  pendingBatchId: bigint;
  pendingUntil: bigint;
  pendingChallenged: boolean;
}

/** One credit batch a node settled (Settlement's BatchSettled with a non-zero credit root). */
export interface CreditBatch {
  batchId: bigint;
  creditRoot: Hex;
  disputeUntil: bigint;
  recordsCid: string;
  /** The account's leaf in the batch's settlement document, when the document could be read and credits it. */
  entry?: { cumulative: bigint; added: bigint; proof: Hex[] };
  /** Models the batch's records were paid for (from the document's records). */
  modelIds: string[];
  /** The document could not be read (the node's gateway lacks it). */
  unreadable?: boolean;
}

export interface NodeEarnings {
  node: Address;
  credits: NodeCreditState;
  claimed: bigint;
  batches: CreditBatch[];
  /** From the node's `GET /v1/credits/:account`, when it answered: preferred for the claim. */
  apiCredit?: { cumulative: bigint; proof: Hex[]; root: Hex };
}

export type BatchStatus = "final" | "pending" | "challenged" | "superseded";

export interface EarningsRow {
  node: Address;
  batchId: bigint;
  status: BatchStatus;
  added: bigint;
  cumulative: bigint;
  modelIds: string[];
  recordsCid: string;
  disputeUntil: bigint;
}

export interface NodeClaim {
  node: Address;
  cumulativeAmount: bigint;
  proof: Hex[];
}

export interface EarningsSummary {
  rows: EarningsRow[];
  /** Final credit not yet claimed, per node, with the claim that pays it. */
  claims: (NodeClaim & { amount: bigint })[];
  claimable: bigint;
  pending: bigint;
  claimed: bigint;
  /** Nodes whose final root credits the account but for which no proof was found (document unreadable). */
  missingProofs: Address[];
}

const ZERO_ROOT = `0x${"0".repeat(64)}`;
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function batchStatus(batch: CreditBatch, credits: NodeCreditState, nowSeconds: bigint): BatchStatus {
  if (same(batch.creditRoot, credits.finalizedRoot)) return "final";
  if (credits.pendingRoot !== ZERO_ROOT && same(batch.creditRoot, credits.pendingRoot)) {
    if (credits.pendingChallenged) return "challenged";
    // A pending root past its window counts as final for claims (creditsOf already reports it as final then).
    return nowSeconds >= credits.pendingUntil ? "final" : "pending";
  }
  return "superseded";
}

export function summarizeEarnings(nodes: readonly NodeEarnings[], nowSeconds: bigint): EarningsSummary {
  const rows: EarningsRow[] = [];
  const claims: EarningsSummary["claims"] = [];
  const missingProofs: Address[] = [];
  let pending = 0n;
  let claimed = 0n;
  for (const n of nodes) {
    claimed += n.claimed;
    let finalEntry: { cumulative: bigint; proof: Hex[] } | undefined;
    for (const batch of n.batches) {
      const status = batchStatus(batch, n.credits, nowSeconds);
      if (!batch.entry) continue;
      rows.push({ node: n.node, batchId: batch.batchId, status, added: batch.entry.added, cumulative: batch.entry.cumulative, modelIds: batch.modelIds, recordsCid: batch.recordsCid, disputeUntil: batch.disputeUntil });
      if (status === "final") finalEntry = batch.entry;
    }
    if (n.apiCredit && same(n.apiCredit.root, n.credits.finalizedRoot)) finalEntry = n.apiCredit;
    const finalCumulative = finalEntry?.cumulative ?? 0n;
    const pendingRow = rows.find((r) => r.node === n.node && (r.status === "pending" || r.status === "challenged"));
    if (pendingRow && pendingRow.cumulative > finalCumulative) pending += pendingRow.cumulative - finalCumulative;
    if (finalEntry && finalEntry.cumulative > n.claimed) {
      claims.push({ node: n.node, cumulativeAmount: finalEntry.cumulative, proof: finalEntry.proof, amount: finalEntry.cumulative - n.claimed });
    } else if (!finalEntry && n.credits.finalizedRoot !== ZERO_ROOT && n.batches.some((b) => b.unreadable && same(b.creditRoot, n.credits.finalizedRoot))) {
      missingProofs.push(n.node);
    }
  }
  rows.sort((a, b) => (a.batchId === b.batchId ? 0 : a.batchId > b.batchId ? -1 : 1));
  return { rows, claims, claimable: claims.reduce((s, c) => s + c.amount, 0n), pending, claimed, missingProofs };
}

/** The account's leaf and the models paid for, from a settlement document (tributary.settlement-document/1). */
export function readSettlementDocument(document: unknown, account: Address): { entry?: CreditBatch["entry"]; modelIds: string[] } | undefined {
  const doc = document as { batch?: { credits?: { account: string; cumulative: string; added?: string; proof: Hex[] }[] }; records?: { model?: { id?: string } }[] } | null;
  if (!doc || !Array.isArray(doc.batch?.credits)) return undefined;
  const credit = doc.batch.credits.find((c) => same(c.account, account));
  const modelIds = [...new Set((doc.records ?? []).map((r) => r.model?.id).filter((id): id is string => typeof id === "string"))];
  return {
    entry: credit ? { cumulative: BigInt(credit.cumulative), added: BigInt(credit.added ?? credit.cumulative), proof: credit.proof } : undefined,
    modelIds,
  };
}
