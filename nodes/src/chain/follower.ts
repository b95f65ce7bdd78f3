/**
 * Follows the protocol's events: reads logs up to `confirmations` blocks below the head in bounded ranges,
 * delivers them in chain order to the subscribed handlers, and checkpoints the last processed block (with its
 * hash) in the node database, so a restart backfills from there.
 *
 * Reorgs: before each step the checkpoint's hash is compared with the chain's block at that height. On a
 * mismatch the follower walks back through the hashes it kept to the newest block both chains share, tells the
 * handlers to rewind, forgets what it delivered above that block, and delivers the new chain's events from there.
 * Handlers must be idempotent, keyed by the event id (txHash:logIndex).
 *
 * RPC failures never end the process: a failed step is logged as a warning and retried with exponential backoff.
 */
import { EventEmitter } from "node:events";
import type { AbiEvent, Address, Hex, PublicClient } from "viem";
import type { ChainStore, BlockRef } from "../state/chain-store.ts";
import { backoffDelay, DEFAULT_BACKOFF, sleep, type BackoffOptions } from "./backoff.ts";
import type { ContractKey, ProtocolAbis, ProtocolAddresses } from "./contracts.ts";
import type { ChainEvent, EventName } from "./events.ts";

export interface EventSubscription<K extends ContractKey = ContractKey> {
  contract: K;
  events: readonly EventName<K>[];
  /** Handles one event; may run again for the same event after a crash or a reorg. */
  handle(event: ChainEvent<K>): void | Promise<void>;
  /** Blocks above `fork` are no longer canonical (undefined: none of the followed blocks are). */
  rewind?(fork: bigint | undefined): void | Promise<void>;
}

export interface FollowerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface FollowerOptions {
  client: PublicClient;
  abis: ProtocolAbis;
  addresses: ProtocolAddresses;
  store: ChainStore;
  confirmations: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  /** First block to read on an empty database. */
  startBlock: bigint;
  logger: FollowerLogger;
  backoff?: BackoffOptions;
}

/** Events: "progress" ({ head, followed }), "reorg" ({ from, to }), "rpc-error" ({ error, failures, retryInMs }). */
export class EventFollower extends EventEmitter {
  readonly #options: FollowerOptions;
  readonly #subscriptions: EventSubscription[] = [];
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #head: bigint | undefined;
  #failures = 0;
  #lastError: string | undefined;

  constructor(options: FollowerOptions) {
    super();
    this.#options = options;
  }

  subscribe<K extends ContractKey>(subscription: EventSubscription<K>): void {
    if (this.#loop) throw new Error("subscribe before the follower starts");
    this.#subscriptions.push(subscription as unknown as EventSubscription);
  }

  /** Latest head seen, if any. */
  get head(): bigint | undefined {
    return this.#head;
  }

  /** Last fully processed block, if any. */
  get followed(): bigint | undefined {
    return this.#options.store.cursor()?.number;
  }

  /** The last RPC error while it keeps failing; undefined once a step succeeds. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  get running(): boolean {
    return this.#loop !== undefined;
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Stops after the step in progress (no handler is cut off mid-event). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let caughtUp: boolean;
      try {
        caughtUp = await this.step();
        if (this.#failures > 0) this.#options.logger.info({ failures: this.#failures }, "chain RPC reachable again");
        this.#failures = 0;
        this.#lastError = undefined;
      } catch (error) {
        this.#failures++;
        const retryInMs = backoffDelay(this.#failures, this.#options.backoff ?? DEFAULT_BACKOFF);
        this.#lastError = (error as Error).message.split("\n")[0];
        this.#options.logger.warn({ err: this.#lastError, failures: this.#failures, retryInMs }, "chain follower step failed; retrying");
        this.emit("rpc-error", { error, failures: this.#failures, retryInMs });
        await sleep(retryInMs, signal);
        continue;
      }
      if (caughtUp) await sleep(this.#options.pollIntervalMs, signal);
    }
  }

  /**
   * One step: check for a reorg, then process one range of confirmed blocks.
   * Returns true when caught up with the confirmed head (nothing left to read now).
   */
  async step(): Promise<boolean> {
    const { client, store, confirmations, maxBlockRange } = this.#options;
    const head = await client.getBlockNumber({ cacheTime: 0 });
    this.#head = head;
    const cursor = store.cursor();
    if (cursor !== undefined && !(await this.#isCanonical(cursor))) {
      await this.#rewind(cursor);
      return false;
    }
    const safe = head - BigInt(confirmations);
    const from = cursor === undefined ? this.#options.startBlock : cursor.number + 1n;
    if (safe < from) {
      this.emit("progress", { head, followed: cursor?.number });
      return true;
    }
    const to = from + BigInt(maxBlockRange) - 1n < safe ? from + BigInt(maxBlockRange) - 1n : safe;

    const toBlock = await client.getBlock({ blockNumber: to });
    const events = await this.#readEvents(from, to);
    // If block `to` is unchanged after reading, every block up to it is (hashes chain), so the logs are canonical.
    const recheck = await client.getBlock({ blockNumber: to });
    if (recheck.hash !== toBlock.hash) throw new Error(`block ${to} changed while its logs were read (reorg in progress)`);

    for (const event of events) {
      if (this.#abort.signal.aborted) return true; // stop between events; the range is read again on restart
      if (store.isDelivered(event.transactionHash, event.logIndex)) continue;
      const subscription = this.#subscriptions.find((s) => s.contract === event.contract && (s.events as readonly string[]).includes(event.eventName));
      await subscription?.handle(event as never);
      store.markDelivered({ ...event, txHash: event.transactionHash, eventName: event.eventName as string });
    }
    const seen = [...new Map(events.map((e) => [e.blockNumber, { number: e.blockNumber, hash: e.blockHash }])).values()];
    store.advance({ number: to, hash: toBlock.hash! }, seen);
    this.emit("progress", { head, followed: to });
    return to === safe;
  }

  async #isCanonical(block: BlockRef): Promise<boolean> {
    try {
      const onChain = await this.#options.client.getBlock({ blockNumber: block.number });
      return onChain.hash === block.hash;
    } catch (error) {
      // A chain shorter than our checkpoint (a restarted dev chain) has no such block: not canonical.
      if ((error as Error).name === "BlockNotFoundError") return false;
      throw error;
    }
  }

  async #rewind(cursor: BlockRef): Promise<void> {
    const { store, logger } = this.#options;
    let fork: BlockRef | undefined;
    for (const known of store.knownBlocks(cursor.number)) {
      if (await this.#isCanonical(known)) {
        fork = known;
        break;
      }
    }
    logger.warn({ from: cursor.number.toString(), to: fork?.number.toString() ?? "start" }, "chain reorganisation: rewinding and delivering the new chain's events");
    for (const subscription of this.#subscriptions) await subscription.rewind?.(fork?.number);
    store.rewind(fork);
    this.emit("reorg", { from: cursor.number, to: fork?.number });
  }

  async #readEvents(from: bigint, to: bigint): Promise<ChainEvent[]> {
    const { client, abis, addresses } = this.#options;
    const byContract = new Map<ContractKey, Set<string>>();
    for (const s of this.#subscriptions) {
      const names = byContract.get(s.contract) ?? new Set<string>();
      for (const e of s.events) names.add(e as string);
      byContract.set(s.contract, names);
    }
    const events: ChainEvent[] = [];
    for (const [contract, names] of byContract) {
      const abiEvents = (abis[contract] as readonly { type: string; name?: string }[])
        .filter((item): item is AbiEvent => item.type === "event" && names.has(item.name!));
      const logs = await client.getLogs({ address: addresses[contract] as Address, events: abiEvents, fromBlock: from, toBlock: to, strict: true });
      for (const log of logs) {
        events.push({
          id: `${log.transactionHash}:${log.logIndex}`,
          contract,
          address: log.address,
          eventName: log.eventName as never,
          args: log.args as never,
          blockNumber: log.blockNumber!,
          blockHash: log.blockHash! as Hex,
          transactionHash: log.transactionHash!,
          logIndex: log.logIndex!,
        });
      }
    }
    return events.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  }
}
