/**
 * Sends the operator's transactions. One queue owns the account's nonce: transactions go out one at a time, each
 * waited for until mined, so nonces never collide or leave gaps. Before sending, the call is estimated, so a
 * transaction that would revert is refused with the decoded reason and costs nothing. A transaction not mined
 * after `stuckAfterMs` is replaced (same nonce) with fees raised by `bumpPercent`. Transient RPC failures are
 * retried with backoff. A revert (at estimation or in the receipt) becomes a ContractRevertError whose message
 * says why in words.
 */
import {
  encodeFunctionData, keccak256, type ContractFunctionArgs, type ContractFunctionName, type Hex, type PublicClient, type TransactionReceipt,
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

export interface WriteOptions {
  /** Fixed gas limit: skips estimation (and so the pre-send revert check). */
  gas?: bigint;
  /**
   * Called with each signed transaction's hash before it is broadcast (the first one and every fee bump), so a
   * caller can persist it: after a crash it can look the transaction up instead of sending another.
   */
  onSigned?: (hash: Hex) => void | Promise<void>;
}

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
    const { client, account, abis, addresses, chainId } = this.#o;
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
      }
      this.#nonce ??= await this.#rpc("reading the nonce", () => client.getTransactionCount({ address: account.address, blockTag: "pending" }));
      const nonce = this.#nonce;
      let fees = await this.#rpc("estimating fees", () => client.estimateFeesPerGas());
      const hashes: Hex[] = [];
      const broadcast = async (): Promise<void> => {
        const serializedTransaction = await account.signTransaction({
          type: "eip1559", chainId, nonce, to, data, value, gas, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        });
        const hash = keccak256(serializedTransaction);
        await options.onSigned?.(hash);
        hashes.push(hash);
        await this.#rpc(`sending ${label}`, async () => {
          try {
            await client.sendRawTransaction({ serializedTransaction });
          } catch (error) {
            if (/already known/i.test(String((error as Error).message))) return;
            // Development chains that mine on arrival (Hardhat's automine) answer a reverting transaction with its
            // revert; it was mined all the same, so the receipt below reports it. Otherwise it was refused.
            if (isRevert(error)) {
              if (await this.receiptOf(hash)) return;
              throw decodeRevert(abis, request.contract, revertDataOf(error), { txHash: hash, cause: error });
            }
            throw error;
          }
        });
        this.#o.metrics?.sent(label);
      };

      await broadcast();
      let sentAt = Date.now();
      let bumps = 0;
      for (;;) {
        for (const hash of hashes) {
          const receipt = await this.#rpc("reading a receipt", () => this.receiptOf(hash));
          if (receipt === undefined) continue;
          this.#nonce = nonce + 1;
          if (receipt.status === "reverted") throw await this.#revertReason(request, data, value, receipt);
          return { hash, receipt };
        }
        if (Date.now() - sentAt >= this.#o.stuckAfterMs) {
          if (bumps >= this.#o.maxBumps) {
            this.#nonce = undefined; // unknown whether it will be mined: read the nonce again next time
            throw new TransactionTimeoutError(
              `${label} was not mined after ${bumps} fee bumps (last tx ${hashes.at(-1)}); check the chain and the account's balance`,
              { hashes, nonce },
            );
          }
          bumps++;
          const factor = BigInt(100 + this.#o.bumpPercent);
          fees = { maxFeePerGas: (fees.maxFeePerGas * factor) / 100n + 1n, maxPriorityFeePerGas: (fees.maxPriorityFeePerGas * factor) / 100n + 1n };
          this.#o.logger.warn({ label, nonce, bumps, maxFeePerGas: fees.maxFeePerGas.toString() }, "transaction not mined; replacing it with higher fees");
          try {
            await broadcast();
          } catch (error) {
            // The original may have been mined meanwhile ("nonce too low"): the loop finds its receipt.
            if (!/nonce too low|underpriced/i.test(String((error as Error).message))) throw error;
          }
          sentAt = Date.now();
        }
        await sleep(this.#o.receiptPollMs);
      }
    } catch (error) {
      this.#o.metrics?.failed(label);
      if (/nonce too (low|high)/i.test(String((error as Error).message))) this.#nonce = undefined;
      throw error;
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
