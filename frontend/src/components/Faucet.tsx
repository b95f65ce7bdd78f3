/** The account's test-token balance and a button that drips more from the token's faucet. */
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { useChainQuery } from "../chain/hooks.ts";
import { balanceOf, dripCall, faucetAmount } from "../chain/token.ts";
import { formatToken } from "../lib/format.ts";
import { TransactionButton } from "./TransactionButton.tsx";

export function Faucet() {
  const { address } = useAccount();
  const balance = useChainQuery(["balance", address], (client) => balanceOf(client, address as Address), Boolean(address));
  const drip = useChainQuery(["faucetAmount"], faucetAmount);
  if (!address) return null;
  return (
    <section className="faucet" aria-label="Test tokens">
      <p>
        Balance: <strong data-testid="balance">{balance.data === undefined ? "…" : formatToken(balance.data)}</strong>
      </p>
      <TransactionButton call={dripCall(drip.data)} variant="secondary" />
      {drip.data !== undefined && <p className="hint">Each drip mints {formatToken(drip.data)}.</p>}
    </section>
  );
}
