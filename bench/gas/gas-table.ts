// The gas table's rows, how one is measured from a transaction, and how the table is printed.
import type { Hash, PublicClient } from "viem";

/** One measured operation: gas of the whole transaction (21,000 base and calldata included). */
export interface GasRow {
  operation: string;
  gas: bigint;
  /** The upper bound for this operation, if it sets one. */
  target?: bigint;
}

/** A transaction that reverted while it was being measured. */
export class MeasuredTransactionRevertedError extends Error {
  readonly transactionHash: Hash;
  readonly operation: string;

  constructor(operation: string, transactionHash: Hash) {
    super(`measuring "${operation}": transaction ${transactionHash} reverted`);
    this.name = "MeasuredTransactionRevertedError";
    this.operation = operation;
    this.transactionHash = transactionHash;
  }
}

/** Waits for the transaction and returns the gas it used; a reverted transaction is an error, not a row. */
export async function gasUsed(publicClient: PublicClient, operation: string, sent: Promise<Hash>): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await sent });
  if (receipt.status !== "success") throw new MeasuredTransactionRevertedError(operation, receipt.transactionHash);
  return receipt.gasUsed;
}

export function meetsTarget(row: GasRow): boolean {
  return row.target === undefined || row.gas <= row.target;
}

/** The rows as a markdown table with each row's target and whether it is met. */
export function gasTableMarkdown(rows: readonly GasRow[]): string {
  const cells = rows.map((row) => [
    row.operation,
    row.gas.toLocaleString("en-US"),
    row.target === undefined ? "–" : `<= ${row.target.toLocaleString("en-US")}`,
    row.target === undefined ? "–" : meetsTarget(row) ? "pass" : "FAIL",
  ]);
  const header = ["operation", "gas (whole tx)", "target", "result"];
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(" | ")} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 ? "-".repeat(width) : "-".repeat(width - 1) + ":")).join(" | ")} |`;
  return [line(header), rule, ...cells.map(line)].join("\n");
}
