/**
 * Sends the operator's transactions. One queue owns the account's nonce: transactions go out one at a time, each
 * waited for until mined, so nonces never collide or leave gaps. Before sending, the call is estimated, so a
 * transaction that would revert is refused with the decoded reason and costs nothing. A transaction not mined
 * after `stuckAfterMs` is replaced (same nonce) with fees raised by `bumpPercent`. Transient RPC failures are
 * retried with backoff. A revert (at estimation or in the receipt) becomes a ContractRevertError whose message
 * says why in words.
 *
 * A caller that must survive a crash between signing and mining (the settlement journal) gets each signed
 * transaction before it is broadcast (`onSigned`), writes it down, and after a restart hands it back to `resume`,
 * which, in the same queue, finds its receipt, or broadcasts the very same signed bytes again (same nonce: mined at
 * most once), or reports it dropped when its nonce went to another transaction.
 */
import {
  encodeFunctionData, keccak256, parseTransaction, type ContractFunctionArgs, type ContractFunctionName, type Hex, type PublicClient, type TransactionReceipt,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { backoffDelay, sleep, type BackoffOptions } from "./backoff.ts";
import { PROTOCOL_CONTRACTS, type ContractAbi, type ContractKey, type ProtocolAbis, type ProtocolAddresses } from "./contracts.ts";
import { ContractRevertError, TransactionTimeoutError } from "./errors.ts";
import { decodeRevert, revertDataOf } from "./revert.ts";

type WriteMutability = "nonpayable" | "payable";

export interface WriteRequest<K extends ContractKey, F extends ContractFunctionName<ContractAbi<K>, WriteMutability>> {
  contract: K;
  functionName: F;
  args: ContractFunctionArgs<ContractAbi<K>, WriteMutability, F>;
  value?: bigint;
}

/** A signed transaction as broadcast: what a caller journals to finish it after a crash (`TxSender.resume`). */
export interface SignedTransaction {
  hash: Hex;
  serializedTransaction: Hex;
  nonce: number;
}

export interface WriteOptions {
  /** Fixed gas limit: skips estimation (and so the pre-send revert check). */
  gas?: bigint;
  /** Gas limit above the estimate, in percent (a call whose cost depends on state that may change before mining). */
  gasHeadroomPercent?: number;
  /**
   * Called with each signed transaction before it is broadcast (the first one and every fee bump), so a caller
   * can persist it: after a crash it can look the transaction up, or broadcast it again, instead of sending another.
   * If it throws, nothing is broadcast.
   */
  onSigned?: (hash: Hex, signed: SignedTransaction) => void | Promise<void>;
  /** Called after each broadcast (tests use it to crash at that point). */
  onBroadcast?: (hash: Hex) => void | Promise<void>;
}

/** What became of a journaled transaction handed to `resume`. */
export type ResumeResult =
  | { status: "mined"; hash: Hex; receipt: TransactionReceipt }
  /** Its nonce was used by another transaction: none of its signed versions can be mined any more. */
  | { status: "dropped" };

export interface WriteResult {
  hash: Hex;
  receipt: TransactionReceipt;
}

export interface TxMetrics {
  sent(label: string): void;
  failed(label: string): void;
}

export interface TxLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TxSenderOptions {
  client: PublicClient;
  account: PrivateKeyAccount;
  chainId: number;
  abis: ProtocolAbis;
  addresses: ProtocolAddresses;
  logger: TxLogger;
  metrics?: TxMetrics;
  receiptPollMs?: number;
  stuckAfterMs?: number;
  bumpPercent?: number;
  maxBumps?: number;
  /** Attempts for an RPC request that fails without a revert. */
  rpcAttempts?: number;
  backoff?: BackoffOptions;
}

/** The fields of a transaction the sender signs (and signs again, with higher fees, when it is stuck). */
interface UnsignedFields {
  to: Hex;
  data: Hex;
  value: bigint;
  gas: bigint;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** A failure that is not a revert (the RPC is down, timed out, ...): worth another try. */
function isRevert(error: unknown): boolean {
  return revertDataOf(error) !== undefined || /revert/i.test(String((error as Error)?.message));
}

export class TxSender {
  readonly #o: Required<Omit<TxSenderOptions, "metrics">> & { metrics?: TxMetrics };
  #queue: Promise<unknown> = Promise.resolve();
  #nonce: number | undefined;

  constructor(options: TxSenderOptions) {
    this.#o = {
      receiptPollMs: 250, stuckAfterMs: 30_000, bumpPercent: 25, maxBumps: 5, rpcAttempts: 5,
      backoff: { initialMs: 250, maxMs: 5_000 }, ...options,
    };
  }

  get address(): Hex {
    return this.#o.account.address;
  }

  /** Queues a contract write; resolves once mined, rejects with a ContractRevertError on a revert. */
  write<K extends ContractKey, F extends ContractFunctionName<ContractAbi<K>, WriteMutability>>(
    request: WriteRequest<K, F>,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    const send = () => this.#send(request as unknown as WriteRequest<ContractKey, never>, options);
    // Another program sending from the same account moves the nonce: read it again and retry once.
    const result = this.#queue.then(() => send().catch((error: unknown) => {
      if (!/nonce too low|nonce has already been used/i.test(String((error as Error)?.message))) throw error;
      this.#o.logger.warn({ err: (error as Error).message.split("\n")[0] }, "the account's nonce moved; sending again with a fresh nonce");
      return send();
    }));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Finishes a transaction signed earlier (by `write`, whose `onSigned` journaled it) in this sender's queue, so it
   * cannot race the account's other transactions for a nonce: the receipt of any of its `hashes` if mined;
   * `dropped` if its nonce was used by another transaction; else `serializedTransaction` (the latest signed
   * version) is broadcast again and waited for, with fee bumps (each new version reported to `onSigned` first).
   * A mined transaction is returned with its receipt whatever its status (the caller reads the revert).
   */
  resume(
    journaled: { serializedTransaction: Hex; hashes: readonly Hex[] },
    options: Pick<WriteOptions, "onSigned" | "onBroadcast"> = {},
  ): Promise<ResumeResult> {
    const result = this.#queue.then(() => this.#resume(journaled, options));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** The receipt of `hash` if mined, else undefined. */
  async receiptOf(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.#o.client.getTransactionReceipt({ hash });
    } catch (error) {
      if ((error as Error).name === "TransactionReceiptNotFoundError") return undefined;
      throw error;
    }
  }

  async #rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (isRevert(error) || attempt >= this.#o.rpcAttempts) throw error;
        const delay = backoffDelay(attempt, this.#o.backoff);
        this.#o.logger.warn({ err: (error as Error).message.split("\n")[0], attempt, retryInMs: delay }, `${what} failed; retrying`);
        await sleep(delay);
      }
    }
  }

  async #send(request: WriteRequest<ContractKey, never>, options: WriteOptions): Promise<WriteResult> {
    const { client, account, abis, addresses } = this.#o;
    const label = `${PROTOCOL_CONTRACTS[request.contract].name}.${request.functionName as string}`;
    const to = addresses[request.contract];
    const data = encodeFunctionData({ abi: abis[request.contract], functionName: request.functionName, args: request.args } as never) as Hex;
    const value = request.value ?? 0n;
    try {
      let gas = options.gas;
      if (gas === undefined) {
        try {
          gas = await this.#rpc(`estimating ${label}`, () => client.estimateGas({ account, to, data, value }));
        } catch (error) {
          if (isRevert(error)) throw decodeRevert(abis, request.contract, revertDataOf(error), { cause: error });
          throw error;
        }
        if (options.gasHeadroomPercent) gas = (gas * BigInt(100 + options.gasHeadroomPercent)) / 100n;
      }
      this.#nonce ??= await this.#rpc("reading the nonce", () => client.getTransactionCount({ address: account.address, blockTag: "pending" }));
      const nonce = this.#nonce;
      const fees = await this.#rpc("estimating fees", () => client.estimateFeesPerGas());
      const tx: UnsignedFields = { to, data, value, gas, nonce, ...fees };
      const hashes: Hex[] = [];
      const signed = await this.#sign(tx, options);
      hashes.push(signed.hash);
      await this.#broadcast(label, request.contract, signed, options);
      const outcome = await this.#waitMined(label, request.contract, tx, hashes, options, false);
      if (outcome.status !== "mined") throw new Error(`unreachable: ${label} dropped`);
      if (outcome.receipt.status === "reverted") throw await this.#revertReason(request, data, value, outcome.receipt);
      return { hash: outcome.hash, receipt: outcome.receipt };
    } catch (error) {
      this.#o.metrics?.failed(label);
      if (/nonce too (low|high)/i.test(String((error as Error).message))) this.#nonce = undefined;
      throw error;
    }
  }

  async #resume(journaled: { serializedTransaction: Hex; hashes: readonly Hex[] }, options: WriteOptions): Promise<ResumeResult> {
    const { chainId } = this.#o;
    const parsed = parseTransaction(journaled.serializedTransaction);
    if (parsed.nonce === undefined || parsed.to == null || parsed.gas === undefined || parsed.maxFeePerGas === undefined || parsed.maxPriorityFeePerGas === undefined || parsed.chainId !== chainId) {
      throw new Error("the journaled transaction is not an EIP-1559 transaction of this chain with a nonce, recipient and gas limit");
    }
    const tx: UnsignedFields = {
      to: parsed.to, data: parsed.data ?? "0x", value: parsed.value ?? 0n, gas: parsed.gas, nonce: parsed.nonce,
      maxFeePerGas: parsed.maxFeePerGas, maxPriorityFeePerGas: parsed.maxPriorityFeePerGas,
    };
    const label = `journaled tx nonce ${tx.nonce}`;
    const hashes = [...journaled.hashes];
    const latest = keccak256(journaled.serializedTransaction);
    if (!hashes.includes(latest)) hashes.push(latest);
    // Mined already, or its nonce taken: nothing to send.
    const early = await this.#minedOrDropped(hashes, tx.nonce);
    if (early !== undefined) return early;
    await this.#broadcast(label, undefined, { hash: latest, serializedTransaction: journaled.serializedTransaction, nonce: tx.nonce }, options);
    return this.#waitMined(label, undefined, tx, hashes, options, true);
  }

  /** A receipt of one of `hashes`, `dropped` if `nonce` was used by a transaction that is none of them, else undefined. */
  async #minedOrDropped(hashes: readonly Hex[], nonce: number): Promise<ResumeResult | undefined> {
    const receiptOfAny = async (): Promise<ResumeResult | undefined> => {
      for (const hash of hashes) {
        const receipt = await this.#rpc("reading a receipt", () => this.receiptOf(hash));
        if (receipt !== undefined) {
          this.#advancePast(nonce);
          return { status: "mined", hash, receipt };
        }
      }
      return undefined;
    };
    const mined = await receiptOfAny();
    if (mined) return mined;
    const used = await this.#rpc("reading the nonce", () => this.#o.client.getTransactionCount({ address: this.#o.account.address, blockTag: "latest" }));
    if (used <= nonce) return undefined;
    // Ours may have been mined between the two reads: look once more.
    return (await receiptOfAny()) ?? { status: "dropped" };
  }

  /** After the transaction with `nonce` was mined: the next one takes the nonce after it. */
  #advancePast(nonce: number): void {
    if (this.#nonce !== undefined && this.#nonce <= nonce) this.#nonce = nonce + 1;
  }

  async #sign(tx: UnsignedFields, options: WriteOptions): Promise<SignedTransaction> {
    const serializedTransaction = await this.#o.account.signTransaction({
      type: "eip1559", chainId: this.#o.chainId, nonce: tx.nonce, to: tx.to, data: tx.data, value: tx.value, gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    });
    const signed = { hash: keccak256(serializedTransaction), serializedTransaction, nonce: tx.nonce };
    await options.onSigned?.(signed.hash, signed);
    return signed;
  }

  async #broadcast(label: string, contract: ContractKey | undefined, signed: SignedTransaction, options: WriteOptions): Promise<void> {
    const { client, abis } = this.#o;
    await this.#rpc(`sending ${label}`, async () => {
      try {
        await client.sendRawTransaction({ serializedTransaction: signed.serializedTransaction });
      } catch (error) {
        if (/already known|known transaction|already imported/i.test(String((error as Error).message))) return;
        // Development chains that mine on arrival (Hardhat's automine) answer a reverting transaction with its
        // revert; it was mined all the same, so the receipt below reports it. Otherwise it was refused.
        if (isRevert(error)) {
          if (await this.receiptOf(signed.hash)) return;
          if (contract !== undefined) throw decodeRevert(abis, contract, revertDataOf(error), { txHash: signed.hash, cause: error });
        }
        throw error;
      }
    });
    this.#o.metrics?.sent(label);
    await options.onBroadcast?.(signed.hash);
  }

  /**
   * Waits until one of `hashes` is mined, replacing a stuck transaction with higher fees (same nonce). With
   * `detectDrop`, a nonce used by another transaction ends the wait as `dropped` (a resumed transaction).
   */
  async #waitMined(label: string, contract: ContractKey | undefined, tx: UnsignedFields, hashes: Hex[], options: WriteOptions, detectDrop: boolean): Promise<ResumeResult> {
    let sentAt = Date.now();
    let bumps = 0;
    for (;;) {
      if (detectDrop) {
        const outcome = await this.#minedOrDropped(hashes, tx.nonce);
        if (outcome !== undefined) return outcome;
      } else {
        for (const hash of hashes) {
          const receipt = await this.#rpc("reading a receipt", () => this.receiptOf(hash));
          if (receipt === undefined) continue;
          this.#nonce = tx.nonce + 1;
          return { status: "mined", hash, receipt };
        }
      }
      if (Date.now() - sentAt >= this.#o.stuckAfterMs) {
        if (bumps >= this.#o.maxBumps) {
          this.#nonce = undefined; // unknown whether it will be mined: read the nonce again next time
          throw new TransactionTimeoutError(
            `${label} was not mined after ${bumps} fee bumps (last tx ${hashes.at(-1)}); check the chain and the account's balance`,
            { hashes, nonce: tx.nonce },
          );
        }
        bumps++;
        const factor = BigInt(100 + this.#o.bumpPercent);
        tx.maxFeePerGas = (tx.maxFeePerGas * factor) / 100n + 1n;
        tx.maxPriorityFeePerGas = (tx.maxPriorityFeePerGas * factor) / 100n + 1n;
        this.#o.logger.warn({ label, nonce: tx.nonce, bumps, maxFeePerGas: tx.maxFeePerGas.toString() }, "transaction not mined; replacing it with higher fees");
        try {
          const signed = await this.#sign(tx, options);
          hashes.push(signed.hash);
          await this.#broadcast(label, contract, signed, options);
        } catch (error) {
          // The original may have been mined meanwhile ("nonce too low"): the loop finds its receipt.
          if (!/nonce too low|underpriced/i.test(String((error as Error).message))) throw error;
        }
        sentAt = Date.now();
      }
      await sleep(this.#o.receiptPollMs);
    }
  }

  /** Replays a mined, reverted transaction as a call at its block to recover the revert data. */
  async #revertReason(request: WriteRequest<ContractKey, never>, data: Hex, value: bigint, receipt: TransactionReceipt): Promise<ContractRevertError> {
    const { client, account, abis, addresses } = this.#o;
    try {
      await client.call({ account, to: addresses[request.contract], data, value, blockNumber: receipt.blockNumber - 1n });
    } catch (error) {
      return decodeRevert(abis, request.contract, revertDataOf(error), { txHash: receipt.transactionHash, cause: error });
    }
    return decodeRevert(abis, request.contract, undefined, { txHash: receipt.transactionHash });
  }
}
