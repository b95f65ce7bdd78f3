/**
 * Sends one contract write and shows where it is: checking (a simulation first, so a revert is explained before
 * anything is signed), waiting for the wallet, pending with its hash, confirmed, or failed with the revert's
 * custom error in words.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { TransactionReceipt } from "viem";
import { useAccount, useConfig } from "wagmi";
import { simulateContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";
import type { ContractCall } from "../chain/calls.ts";
import { describeError } from "../chain/errors.ts";
import { shortHash } from "../lib/format.ts";

export type TransactionState =
  | { status: "idle" }
  | { status: "checking" }
  | { status: "signing" }
  | { status: "pending"; hash: `0x${string}` }
  | { status: "confirmed"; hash: `0x${string}`; blockNumber: bigint }
  | { status: "failed"; message: string; hash?: `0x${string}` };

export function TransactionButton({
  call,
  disabled,
  onConfirmed,
  variant = "primary",
  label,
}: {
  /** The write to send, or a reason it cannot be sent yet (shown instead of the button's action). */
  call: ContractCall | null;
  disabled?: boolean;
  onConfirmed?: (receipt: TransactionReceipt) => void;
  variant?: "primary" | "secondary" | "danger";
  /** The button's text while `call` is null (the form is not complete yet); otherwise the call's own label. */
  label?: string;
}) {
  const config = useConfig();
  const queryClient = useQueryClient();
  const { address, isConnected } = useAccount();
  const [state, setState] = useState<TransactionState>({ status: "idle" });
  const busy = state.status === "checking" || state.status === "signing" || state.status === "pending";

  async function send() {
    if (!call || !address) return;
    let hash: `0x${string}` | undefined;
    try {
      setState({ status: "checking" });
      const { request } = await simulateContract(config, { ...call, account: address } as Parameters<typeof simulateContract>[1]);
      setState({ status: "signing" });
      hash = await writeContract(config, request as Parameters<typeof writeContract>[1]);
      setState({ status: "pending", hash });
      const receipt = await waitForTransactionReceipt(config, { hash });
      if (receipt.status !== "success") throw new Error("The transaction was mined but reverted.");
      setState({ status: "confirmed", hash, blockNumber: receipt.blockNumber });
      await queryClient.invalidateQueries({ queryKey: ["chain"] });
      onConfirmed?.(receipt);
    } catch (error) {
      setState({ status: "failed", message: describeError(error), hash });
    }
  }

  return (
    <div className="tx">
      <button type="button" className={`button ${variant}`} onClick={send} disabled={!isConnected || !call || disabled || busy} aria-busy={busy}>
        {call?.label ?? label ?? "Send"}
      </button>
      {!isConnected && <p className="hint">Connect a wallet to sign this.</p>}
      <TransactionStatus state={state} />
    </div>
  );
}

export function TransactionStatus({ state }: { state: TransactionState }) {
  return (
    <div className="tx-status" role="status" aria-live="polite">
      {state.status === "checking" && <p>Checking the transaction…</p>}
      {state.status === "signing" && <p>Confirm it in your wallet…</p>}
      {state.status === "pending" && (
        <p>
          <span className="spinner" aria-hidden="true" /> Pending: <code title={state.hash}>{shortHash(state.hash)}</code>
        </p>
      )}
      {state.status === "confirmed" && (
        <p className="ok">
          Confirmed in block {state.blockNumber.toString()} (<code title={state.hash}>{shortHash(state.hash)}</code>).
        </p>
      )}
      {state.status === "failed" && (
        <p className="field-error" role="alert">
          Failed: {state.message}
        </p>
      )}
    </div>
  );
}
