/**
 * Watches every node's credit roots: each `BatchSettled` with a root names its settlement document on IPFS;
 * the watcher fetches it, checks it commits to the root and total the chain recorded, recomputes it with the
 * verifier from public data (chain + IPFS, never the node's word), and challenges a root that does not
 * recompute, with the bond, while its dispute window is open. Verdicts are kept in the watcher's sqlite, so a
 * restart neither re-challenges nor forgets what it checked; a node's last good document is what its next
 * batch's previous credits are checked against.
 */
import { zeroHash, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { Logger } from "pino";
import type { AttributionRecord } from "../attribution/attribution-record.ts";
import type { Discrepancy } from "../attribution/verify-record.ts";
import { verifyBatch } from "../attribution/verify-batch.ts";
import type { NodeDatabase } from "../state/database.ts";
import { parseCid } from "../storage/index.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { baseModelDigest, createOutputGradientRecomputer, type OutputGradientRecomputer } from "../attribution/recompute-output-gradients.ts";
import type { Backend } from "../engine/backend/backend.ts";
import { createReferenceBackend } from "../engine/backend/reference.ts";
import { createWasmBackend } from "../engine/backend/wasm/wasm-backend.ts";
import { loadModelFolder } from "../engine/formats/model-folder.ts";
import { createChainDataSource, type ChainDataSourceInit } from "./chain-data-source.ts";
import { SETTLEMENT_DOCUMENT_SCHEMA, type SettlementDocument } from "./settlement-scheduler.ts";

export interface BatchWatcherOptions {
  database: NodeDatabase;
  client: PublicClient;
  store: ContentStore;
  settlement: { address: Address; abi: Abi };
  pools: { abi: Abi };
  token: { address: Address; abi: Abi };
  data: Omit<ChainDataSourceInit, "client" | "store">;
  /** Signs challenges (a wallet of its own: the `watch` command); without it or `send` the watcher only reports. */
  wallet?: WalletClient;
  /** Sends challenges through the caller's transaction sender instead (a node: one owner of the account's nonce). */
  send?: ContractCallSender;
  logger?: Pick<Logger, "info" | "warn">;
  fromBlock?: bigint;
  /**
   * Base model folders (the node's `jobs.baseModels`): a record's gradient evidence is recomputed on the one whose
   * model.safetensors has the digest the record names. Without the record's base model its gradients are
   * `gradient-unverifiable`.
   */
  baseModelDirs?: readonly string[];
}

/** Sends one contract call and resolves to the hash of its mined transaction; throws if it reverts. */
export type ContractCallSender = (call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] }) => Promise<Hex>;

export interface Verdict {
  node: Address;
  batchId: bigint;
  root: Hex;
  cid: string;
  ok: boolean;
  discrepancies: Discrepancy[];
  challenged: boolean;
  challengeTx?: Hex;
}

interface SettledEvent {
  batchId: bigint;
  node: Address;
  creditRoot: Hex;
  totalCredit: bigint;
  recordsCid: string;
  blockNumber: bigint;
}

export class BatchWatcher {
  readonly #o: BatchWatcherOptions;

  constructor(options: BatchWatcherOptions) {
    this.#o = options;
    options.database.db.exec(`
      CREATE TABLE IF NOT EXISTS watch_verdicts (
        node TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        root TEXT NOT NULL,
        cid TEXT NOT NULL,
        ok INTEGER NOT NULL,
        discrepancies TEXT NOT NULL,
        challenged INTEGER NOT NULL,
        challenge_tx TEXT,
        document TEXT,
        PRIMARY KEY (node, batch_id)
      );
      CREATE TABLE IF NOT EXISTS watch_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), next_block TEXT NOT NULL);
    `);
  }

  verdicts(): Verdict[] {
    return (this.#o.database.db.prepare("SELECT * FROM watch_verdicts ORDER BY CAST(batch_id AS INTEGER)").all() as Record<string, string | number | null>[]).map((row) => ({
      node: row.node as Address, batchId: BigInt(row.batch_id as string), root: row.root as Hex, cid: row.cid as string, ok: row.ok === 1,
      discrepancies: JSON.parse(row.discrepancies as string) as Discrepancy[], challenged: row.challenged === 1, challengeTx: (row.challenge_tx ?? undefined) as Hex | undefined,
    }));
  }

  /** Checks every root-carrying batch settled since the last scan; returns the new verdicts. */
  async scan(): Promise<Verdict[]> {
    const { client, settlement } = this.#o;
    const cursor = this.#o.database.db.prepare("SELECT next_block FROM watch_cursor WHERE id = 1").get() as { next_block: string } | undefined;
    const fromBlock = cursor !== undefined ? BigInt(cursor.next_block) : this.#o.fromBlock ?? 0n;
    const toBlock = await client.getBlockNumber();
    if (toBlock < fromBlock) return [];
    const logs = (await client.getContractEvents({ address: settlement.address, abi: settlement.abi, eventName: "BatchSettled", fromBlock, toBlock })) as unknown as {
      args: { batchId: bigint; node: Address; creditRoot: Hex; totalCredit: bigint; recordsCid: string }; blockNumber: bigint;
    }[];
    const verdicts: Verdict[] = [];
    for (const log of logs) {
      if (log.args.creditRoot === zeroHash) continue;
      const known = this.#o.database.db.prepare("SELECT 1 FROM watch_verdicts WHERE node = ? AND batch_id = ?").get(log.args.node, log.args.batchId.toString());
      if (known !== undefined) continue;
      verdicts.push(await this.#check({ ...log.args, blockNumber: log.blockNumber }));
    }
    this.#o.database.db.prepare("INSERT INTO watch_cursor (id, next_block) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET next_block = excluded.next_block").run((toBlock + 1n).toString());
    return verdicts;
  }

  async #check(event: SettledEvent): Promise<Verdict> {
    const discrepancies: Discrepancy[] = [];
    let document: SettlementDocument | undefined;
    try {
      document = await this.#o.store.getJson<SettlementDocument>(parseCid(event.recordsCid), { timeoutMs: 30_000 });
    } catch (error) {
      discrepancies.push({ code: "document-unavailable", message: `the batch document ${event.recordsCid} cannot be fetched: ${(error as Error).message}` });
    }
    if (document !== undefined) {
      if (document.schema !== SETTLEMENT_DOCUMENT_SCHEMA) discrepancies.push({ code: "document-schema", message: `the document's schema is ${String(document.schema)}` });
      if (document.batch?.root?.toLowerCase() !== event.creditRoot.toLowerCase()) {
        discrepancies.push({ code: "root-mismatch", message: `the document's root ${document.batch?.root} is not the root on-chain ${event.creditRoot}` });
      }
      if (document.batch?.total !== event.totalCredit.toString()) {
        discrepancies.push({ code: "total-mismatch", message: `the document's total ${document.batch?.total} is not the total on-chain ${event.totalCredit}` });
      }
      if (discrepancies.length === 0) {
        const records = document.records as AttributionRecord[];
        const source = await createChainDataSource({ client: this.#o.client, store: this.#o.store, ...this.#o.data }, records, document.tokens ?? []);
        const named = records.flatMap((r) => r.evidence?.gradient?.checkpoints.map((c) => c.adapter) ?? []);
        const gradients = named.length > 0 ? await this.#recomputer(source, [...new Set(named)]) : undefined;
        const result = await verifyBatch(document.batch, records, source, this.#previousDocument(event.node)?.batch, gradients ? { gradients } : {});
        discrepancies.push(...result.discrepancies);
      }
    }
    const ok = discrepancies.length === 0;
    let challengeTx: Hex | undefined;
    // Evidence this watcher cannot recompute (a base model it does not have) is no proof of fraud: reported, not challenged.
    const provable = discrepancies.some((d) => d.code !== "gradient-unverifiable");
    if (!ok && provable && (this.#o.wallet !== undefined || this.#o.send !== undefined)) challengeTx = await this.#challenge(event);
    this.#o.database.db.prepare(`
      INSERT INTO watch_verdicts (node, batch_id, root, cid, ok, discrepancies, challenged, challenge_tx, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    `).run(event.node, event.batchId.toString(), event.creditRoot, event.recordsCid, ok ? 1 : 0, JSON.stringify(discrepancies), challengeTx ? 1 : 0, challengeTx ?? null,
      ok && document !== undefined ? JSON.stringify(document) : null);
    const verdict: Verdict = { node: event.node, batchId: event.batchId, root: event.creditRoot, cid: event.recordsCid, ok, discrepancies, challenged: challengeTx !== undefined, challengeTx };
    if (ok) this.#o.logger?.info({ node: event.node, batchId: event.batchId.toString() }, "batch recomputes exactly");
    else this.#o.logger?.warn({ node: event.node, batchId: event.batchId.toString(), discrepancies: discrepancies.length, challenged: verdict.challenged }, "batch does not recompute");
    return verdict;
  }

  #recomputerOnce: Promise<OutputGradientRecomputer> | undefined;
  /** TracIn checkpoints of the models whose records were checked, by digest (fetched from IPFS, checked against it). */
  readonly #checkpoints = new Map<string, Uint8Array>();

  /**
   * Recomputes output gradients from the base models this watcher has and the checkpoints the batches' models name.
   * One per watcher: it keeps each base model in its backend's memory once, whatever the number of batches.
   */
  async #recomputer(source: { tracinCheckpoint(digest: Hex): Promise<Uint8Array | undefined> }, digests: readonly Hex[]): Promise<OutputGradientRecomputer> {
    for (const digest of digests) {
      const bytes = await source.tracinCheckpoint(digest);
      if (bytes !== undefined) this.#checkpoints.set(digest.toLowerCase(), bytes);
    }
    this.#recomputerOnce ??= (async () => {
      // Reproducible backends only (results identical on every host): plain SIMD on one thread, and the reference.
      const backends: Partial<Record<"reference" | "wasm-simd", Backend>> = { reference: createReferenceBackend() };
      try {
        backends["wasm-simd"] = await createWasmBackend({ fusedMultiplyAdd: false, threads: 1 });
      } catch {
        // A runtime without WebAssembly SIMD: records computed on it are reported as unverifiable here.
      }
      const dirs = this.#o.baseModelDirs ?? [];
      const digestsOfDirs = new Map<string, Promise<string>>();
      const digestOf = (dir: string): Promise<string> => {
        let digest = digestsOfDirs.get(dir);
        if (digest === undefined) {
          digest = baseModelDigest(dir).catch(() => "");
          digestsOfDirs.set(dir, digest);
        }
        return digest;
      };
      const checkpoints = this.#checkpoints;
      return createOutputGradientRecomputer({
        async baseModel(digest) {
          for (const dir of dirs) {
            if ((await digestOf(dir)) !== digest.toLowerCase()) continue;
            const folder = await loadModelFolder(dir);
            return { config: folder.config, weights: new Map([...folder.tensors].map(([name, t]) => [name, t.data])) };
          }
          return undefined;
        },
        tracinCheckpoint: async (digest) => checkpoints.get(digest.toLowerCase()),
      }, backends);
    })();
    return this.#recomputerOnce;
  }

  /** The node's last batch that recomputed exactly: its credits are where the next batch must start. */
  #previousDocument(node: Address): SettlementDocument | undefined {
    const row = this.#o.database.db.prepare("SELECT document FROM watch_verdicts WHERE node = ? AND ok = 1 ORDER BY CAST(batch_id AS INTEGER) DESC LIMIT 1").get(node) as { document: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.document) as SettlementDocument);
  }

  /** Approves the bond and challenges the root; a root no longer challengeable (window over, already ruled) is reported, not retried. */
  async #challenge(event: SettledEvent): Promise<Hex | undefined> {
    const { client, settlement, pools, token } = this.#o;
    const poolsAddress = (await client.readContract({ address: settlement.address, abi: settlement.abi, functionName: "contributorPools" })) as Address;
    const bond = (await client.readContract({ address: poolsAddress, abi: pools.abi, functionName: "challengeBond" })) as bigint;
    const send = async (address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<Hex> => {
      if (this.#o.send !== undefined) return this.#o.send({ address, abi, functionName, args });
      const wallet = this.#o.wallet!;
      const hash = await wallet.writeContract({ address, abi, functionName, args, account: wallet.account!, chain: wallet.chain });
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 100 });
      if (receipt.status !== "success") throw new Error(`${functionName} reverted (${hash})`);
      return hash;
    };
    try {
      if (bond > 0n) await send(token.address, token.abi, "approve", [poolsAddress, bond]);
      return await send(poolsAddress, pools.abi, "challenge", [event.node, event.batchId]);
    } catch (error) {
      this.#o.logger?.warn({ node: event.node, batchId: event.batchId.toString(), err: (error as Error).message.split("\n")[0] }, "could not challenge the batch");
      return undefined;
    }
  }
}
