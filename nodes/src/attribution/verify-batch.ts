/**
 * Recomputes a settlement batch from public data (its records, the span indexes, gradient sketches
 * and manifests behind a data source, the pools and previous credits it states) and reports every
 * discrepancy: records whose weights do not follow from their evidence, credits, totals, the root
 * and the proofs. Credits are recomputed from the weights the evidence gives, so a tampered weight
 * also shows up on the accounts it moved money to or from.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Hex } from "viem";
import { recordsHash, type AttributionRecord } from "./attribution-record.ts";
import type { AttributionDataSource } from "./data-source.ts";
import type { DatanetManifest } from "./datanet-manifest.ts";
import { AttributionError } from "./errors.ts";
import { buildBatch, CREDIT_LEAF_TYPES, SETTLEMENT_BATCH_SCHEMA, type SettlementBatch } from "./settlement-batch.ts";
import { verifyRecord, type Discrepancy, type VerifyOptions } from "./verify-record.ts";

export interface BatchVerification {
  ok: boolean;
  recordCount: number;
  accountCount: number;
  discrepancies: Discrepancy[];
}

export async function verifyBatch(
  batch: SettlementBatch, records: readonly unknown[], source: AttributionDataSource, previousBatch?: SettlementBatch, options: VerifyOptions = {},
): Promise<BatchVerification> {
  const discrepancies: Discrepancy[] = [];
  const report = (d: Discrepancy): void => void discrepancies.push(d);

  if (batch.schema !== SETTLEMENT_BATCH_SCHEMA) report({ code: "batch-schema", message: `batch schema is "${batch.schema}", expected "${SETTLEMENT_BATCH_SCHEMA}"` });
  const hash = recordsHash(records as AttributionRecord[]);
  if (hash !== batch.recordsHash) report({ code: "records-hash", message: `the records hash to ${hash}; the batch commits to ${batch.recordsHash}` });
  if (records.length !== batch.recordCount) report({ code: "record-count", message: `${records.length} records given; the batch states ${batch.recordCount}` });

  // Each record as its evidence says it should be.
  const corrected: AttributionRecord[] = [];
  for (const record of records) {
    const result = await verifyRecord(record, source, options);
    discrepancies.push(...result.discrepancies);
    if (!result.expectedWeights) {
      report({ code: "batch-not-recomputed", message: "credits cannot be recomputed while a record cannot be verified" });
      return { ok: false, recordCount: records.length, accountCount: batch.credits.length, discrepancies };
    }
    const weights = result.expectedWeights.map((w) => ({ contributionId: w.contributionId.toString(), ppm: w.ppm }));
    corrected.push({ ...(record as AttributionRecord), weights });
  }

  if (previousBatch) {
    const expected = new Map(previousBatch.credits.map((c) => [c.account.toLowerCase(), c.cumulative]));
    const stated = new Map(batch.previousCredits.map((c) => [c.account.toLowerCase(), c.amount]));
    for (const account of new Set([...expected.keys(), ...stated.keys()])) {
      if (expected.get(account) !== stated.get(account)) {
        report({ code: "previous-credit", account, message: `account ${account}: previous credit is stated as ${stated.get(account) ?? "absent"}; the previous batch has ${expected.get(account) ?? "absent"}` });
      }
    }
  }

  const manifests = new Map<string, DatanetManifest>();
  for (const root of new Set(corrected.map((r) => r.datanet.root))) {
    const manifest = await source.manifest(root as Hex);
    if (manifest) manifests.set(root, manifest);
  }
  let expected: SettlementBatch;
  try {
    expected = buildBatch({
      records: corrected,
      pools: new Map(batch.pools.map((p) => [p.requestId, BigInt(p.amount)])),
      manifests,
      previousCredits: new Map(batch.previousCredits.map((c) => [c.account, BigInt(c.amount)])),
    });
  } catch (error) {
    if (!(error instanceof AttributionError)) throw error;
    report({ code: "batch-inputs", message: error.message });
    return { ok: false, recordCount: records.length, accountCount: batch.credits.length, discrepancies };
  }

  compareCredits(batch, expected, report);
  for (const field of ["total", "credited", "unattributed", "root"] as const) {
    if (batch[field] !== expected[field]) report({ code: `batch-${field}`, message: `batch ${field} is ${batch[field]}; recomputed ${expected[field]}` });
  }
  for (const credit of batch.credits) {
    let valid = false;
    try {
      valid = StandardMerkleTree.verify(batch.root, CREDIT_LEAF_TYPES, [credit.account, credit.cumulative], credit.proof);
    } catch {
      valid = false;
    }
    if (!valid) report({ code: "credit-proof", account: credit.account, message: `account ${credit.account}: its proof does not verify against the batch root` });
  }
  return { ok: discrepancies.length === 0, recordCount: records.length, accountCount: batch.credits.length, discrepancies };
}

function compareCredits(batch: SettlementBatch, expected: SettlementBatch, report: (d: Discrepancy) => void): void {
  const given = new Map(batch.credits.map((c) => [c.account.toLowerCase(), c]));
  const wanted = new Map(expected.credits.map((c) => [c.account.toLowerCase(), c]));
  for (const account of [...new Set([...given.keys(), ...wanted.keys()])].sort()) {
    const g = given.get(account);
    const w = wanted.get(account);
    if (!g || !w) {
      report({ code: "credit-account", account, message: `account ${account}: ${g ? "credited by the batch but owed nothing" : `owed ${w!.cumulative} but absent from the batch`}` });
      continue;
    }
    if (g.cumulative !== w.cumulative) report({ code: "credit-cumulative", account, message: `account ${account}: cumulative credit ${g.cumulative}; recomputed ${w.cumulative}` });
    if (g.added !== w.added) report({ code: "credit-added", account, message: `account ${account}: credited ${g.added} by this batch; recomputed ${w.added}` });
  }
}
