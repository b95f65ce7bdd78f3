/**
 * Builds a settlement batch: each record's contributor pool is split among its contributions by
 * weight, contributions are mapped to contributor accounts through the Datanet manifest, and the
 * amounts are added to the node's previous cumulative credits. The settlement contract holds one
 * Merkle root over (account, cumulativeAmount) leaves, types ["address", "uint256"]
 * (OpenZeppelin StandardMerkleTree), so a contributor claims everything owed across all batches
 * with one proof against the latest root.
 *
 * Rounding: a pool P is split as floor(P * ppm / 1e6) per contribution, and the units left over go
 * one each to the largest remainders (ties to the lower contribution id), so every pool is paid out
 * exactly. A record with no weights credits nobody: its pool is reported as `unattributed`, which
 * the batch does not credit.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, zeroHash, type Address, type Hex } from "viem";
import { recordsHash, type AttributionRecord } from "./attribution-record.ts";
import { canonicalJson } from "./canonical-json.ts";
import { contributorsById, manifestRoot, type DatanetManifest } from "./datanet-manifest.ts";
import { InvalidBatchInputError } from "./errors.ts";
import { splitByLargestRemainder } from "./weights.ts";

export const SETTLEMENT_BATCH_SCHEMA = "tributary.batch/1";
export const CREDIT_LEAF_TYPES = ["address", "uint256"];

export interface BatchInput {
  records: readonly AttributionRecord[];
  /** requestId -> contributor pool of that inference, in token units. */
  pools: ReadonlyMap<string, bigint>;
  /** Datanet version root -> its manifest (lower-case root). */
  manifests: ReadonlyMap<string, DatanetManifest>;
  /** account -> cumulative credit after the node's previous batch. */
  previousCredits: ReadonlyMap<string, bigint>;
}

export interface BatchCredit {
  account: Address;
  /** Cumulative credit after this batch: the leaf's amount. */
  cumulative: string;
  /** Credited by this batch. */
  added: string;
  /** StandardMerkleTree proof of (account, cumulative) against `root`. */
  proof: Hex[];
}

export interface SettlementBatch {
  schema: typeof SETTLEMENT_BATCH_SCHEMA;
  /** keccak256 of the records file (canonical JSON array of the records, see serializeRecords). */
  recordsHash: Hex;
  recordCount: number;
  pools: { requestId: string; amount: string }[];
  previousCredits: { account: Address; amount: string }[];
  /** Every account ever credited by this node, by ascending address. */
  credits: BatchCredit[];
  /** Sum of all cumulative credits. */
  total: string;
  /** Credited by this batch (the sum of the pools minus `unattributed`). */
  credited: string;
  /** Pools of records with no attribution, not credited to anyone. */
  unattributed: string;
  /** Merkle root over (account, cumulative); zero hash when no account has credit. */
  root: Hex;
}

/** Amount per contribution of one record's pool (exact: the amounts sum to the pool). */
export function splitPool(record: AttributionRecord, pool: bigint): Map<bigint, bigint> {
  if (record.weights.length === 0) return new Map();
  const amounts = splitByLargestRemainder(pool, record.weights.map((w) => BigInt(w.ppm)));
  return new Map(record.weights.map((w, i) => [BigInt(w.contributionId), amounts[i]]));
}

export function buildBatch(input: BatchInput): SettlementBatch {
  const fail = (problem: string, details: Record<string, unknown>): never => {
    throw new InvalidBatchInputError(`Cannot build the batch: ${problem}.`, details);
  };

  const requestIds = new Set<string>();
  for (const record of input.records) {
    if (requestIds.has(record.requestId)) fail(`request ${record.requestId} has two records`, { requestId: record.requestId });
    requestIds.add(record.requestId);
    if (!input.pools.has(record.requestId)) fail(`request ${record.requestId} has no pool amount`, { requestId: record.requestId });
  }
  for (const [requestId, amount] of input.pools) {
    if (!requestIds.has(requestId)) fail(`pool for request ${requestId} has no record`, { requestId });
    if (amount < 0n) fail(`pool for request ${requestId} is negative (${amount})`, { requestId, amount: amount.toString() });
  }

  const contributors = new Map<string, Map<bigint, Address>>();
  const contributorsOf = (root: string): Map<bigint, Address> => {
    let map = contributors.get(root);
    if (!map) {
      const manifest = input.manifests.get(root) ?? fail(`no manifest for Datanet root ${root}`, { root });
      const actual = manifestRoot(manifest);
      if (actual !== root) fail(`the manifest given for Datanet root ${root} has root ${actual}`, { root, actual });
      map = contributorsById(manifest);
      contributors.set(root, map);
    }
    return map;
  };

  const added = new Map<Address, bigint>();
  let credited = 0n;
  let unattributed = 0n;
  for (const record of input.records) {
    const pool = input.pools.get(record.requestId)!;
    if (record.weights.length === 0) {
      unattributed += pool;
      continue;
    }
    const byId = contributorsOf(record.datanet.root);
    for (const [contributionId, amount] of splitPool(record, pool)) {
      const account =
        byId.get(contributionId) ?? fail(`record ${record.requestId} weights contribution ${contributionId}, which is not in the Datanet manifest`, { requestId: record.requestId, contributionId: contributionId.toString() });
      added.set(account, (added.get(account) ?? 0n) + amount);
      credited += amount;
    }
  }

  const previous = new Map<Address, bigint>();
  for (const [account, amount] of input.previousCredits) {
    if (amount < 0n) fail(`previous credit of ${account} is negative`, { account });
    previous.set(getAddress(account), amount);
  }
  return assembleBatch(input, previous, added, credited, unattributed);
}

function assembleBatch(input: BatchInput, previous: Map<Address, bigint>, added: Map<Address, bigint>, credited: bigint, unattributed: bigint): SettlementBatch {
  const accounts = [...new Set([...previous.keys(), ...added.keys()])].sort((a, b) => compareAddresses(a, b));
  const cumulative = accounts.map((account) => (previous.get(account) ?? 0n) + (added.get(account) ?? 0n));
  const leaves = accounts.map((account, i) => [account, cumulative[i].toString()]);
  const tree = leaves.length > 0 ? StandardMerkleTree.of(leaves, CREDIT_LEAF_TYPES) : undefined;
  const proofs = new Map<string, Hex[]>();
  if (tree) for (const [i, [account]] of tree.entries()) proofs.set(account as string, tree.getProof(i) as Hex[]);

  return {
    schema: SETTLEMENT_BATCH_SCHEMA,
    recordsHash: recordsHash(input.records),
    recordCount: input.records.length,
    pools: [...input.pools].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([requestId, amount]) => ({ requestId, amount: amount.toString() })),
    previousCredits: [...previous].sort(([a], [b]) => compareAddresses(a, b)).map(([account, amount]) => ({ account, amount: amount.toString() })),
    credits: accounts.map((account, i) => ({
      account,
      cumulative: cumulative[i].toString(),
      added: (added.get(account) ?? 0n).toString(),
      proof: proofs.get(account)!,
    })),
    total: cumulative.reduce((a, b) => a + b, 0n).toString(),
    credited: credited.toString(),
    unattributed: unattributed.toString(),
    root: tree ? (tree.root as Hex) : zeroHash,
  };
}

function compareAddresses(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

export function serializeBatch(batch: SettlementBatch): string {
  return canonicalJson(batch);
}
