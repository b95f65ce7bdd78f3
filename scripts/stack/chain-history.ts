/**
 * Persisting the local chain across restarts. `hardhat node` keeps its state in memory only, so the stack records
 * the chain's history (every block's transactions, in order) in the data dir and, on the next start, sends them
 * again to the fresh chain from the same accounts (unlocked or impersonated), one mined block per recorded block:
 * the same nonces give the same contract addresses, ids and state. A new chain cannot go back in time, so blocks
 * are replayed shifted to now, keeping the recorded gaps between them (a jump past a dispute window stays a jump,
 * so what depended on it still succeeds); a transaction whose absolute deadline has passed reverts, the replay
 * reports it and the caller starts afresh.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Hex, PublicClient } from "viem";

interface RecordedTx { from: Hex; to: Hex | null; input: Hex; value: string; gas: string; nonce: number; reverted: boolean }
/** `timestamps` (each block's, in seconds) is absent in histories written before gaps were kept. */
interface History { format: "tributary.chain-history/1"; chainId: number; blocks: RecordedTx[][]; timestamps?: number[] }

export class ReplayDivergedError extends Error {
  constructor(block: number, detail: string) {
    super(`the recorded chain could not be replayed at block ${block} (${detail})`);
    this.name = "ReplayDivergedError";
  }
}

/** Writes every block's transactions (1..head) to `file` (atomically: a stop cut short leaves the previous record). */
export async function saveChainHistory(client: PublicClient, chainId: number, file: string): Promise<number> {
  const head = await client.getBlockNumber();
  const blocks: RecordedTx[][] = [];
  const timestamps: number[] = [];
  for (let n = 1n; n <= head; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    timestamps.push(Number(block.timestamp));
    const txs: RecordedTx[] = [];
    for (const tx of block.transactions) {
      const { status } = await client.getTransactionReceipt({ hash: tx.hash });
      txs.push({ from: tx.from, to: tx.to, input: tx.input, value: tx.value.toString(), gas: tx.gas.toString(), nonce: tx.nonce, reverted: status !== "success" });
    }
    blocks.push(txs);
  }
  const history: History = { format: "tributary.chain-history/1", chainId, blocks, timestamps };
  await writeFile(`${file}.tmp`, JSON.stringify(history));
  await rename(`${file}.tmp`, file);
  return blocks.length;
}

export async function readChainHistory(file: string): Promise<History | undefined> {
  try {
    const history = JSON.parse(await readFile(file, "utf8")) as History;
    return history.format === "tributary.chain-history/1" ? history : undefined;
  } catch {
    return undefined;
  }
}

const toQuantity = (value: string | number | bigint) => `0x${BigInt(value).toString(16)}`;

/** Sends the recorded blocks to a fresh chain; throws ReplayDivergedError when one fails or reverts. */
export async function replayChainHistory(client: PublicClient, history: History, onProgress?: (done: number, total: number) => void): Promise<void> {
  const rpc = (method: string, params: unknown[]) => client.request({ method: method as never, params: params as never });
  // Hardhat's dev accounts are unlocked; any other sender (a wallet's own account used in the dApp) is
  // impersonated, so its transactions replay without its key.
  const senders = new Set(history.blocks.flat().map((tx) => tx.from.toLowerCase()));
  for (const sender of senders) await rpc("hardhat_impersonateAccount", [sender]);
  await rpc("evm_setAutomine", [false]);
  const recorded = history.timestamps?.length === history.blocks.length ? history.timestamps : undefined;
  let previous = Number((await client.getBlock()).timestamp);
  try {
    for (const [i, txs] of history.blocks.entries()) {
      if (recorded && i > 0) {
        // The recorded gap to the previous block, at least one second (a block's time must increase).
        previous += Math.max(1, recorded[i] - recorded[i - 1]);
        await rpc("evm_setNextBlockTimestamp", [toQuantity(previous)]);
      }
      const hashes: Hex[] = [];
      for (const tx of txs) {
        try {
          hashes.push(await rpc("eth_sendTransaction", [{
            from: tx.from, ...(tx.to ? { to: tx.to } : {}), data: tx.input, value: toQuantity(tx.value), gas: toQuantity(tx.gas), nonce: toQuantity(tx.nonce),
          }]) as Hex);
        } catch (error) {
          throw new ReplayDivergedError(i + 1, (error as Error).message.split("\n")[0]);
        }
      }
      await rpc("evm_mine", []);
      previous = Number((await client.getBlock()).timestamp);
      for (const [j, hash] of hashes.entries()) {
        const receipt = await client.getTransactionReceipt({ hash });
        if ((receipt.status !== "success") !== txs[j].reverted) throw new ReplayDivergedError(i + 1, `transaction from ${receipt.from} ${txs[j].reverted ? "succeeded but had reverted" : "reverted"}`);
      }
      if ((i + 1) % 20 === 0) onProgress?.(i + 1, history.blocks.length);
    }
  } finally {
    await rpc("evm_setAutomine", [true]);
  }
}
