/** A contract write as data: what the transaction component simulates, signs and waits for. */
import type { Abi, Address } from "viem";

export interface ContractCall {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** What the transaction does, in words ("Create the Datanet"), for the status line and the wallet prompt. */
  label: string;
}
