/** The connected contributor's released stakes in this Datanet, withdrawn in one transaction. */
import type { Address } from "viem";
import { withdrawable, withdrawStakesCall, type ContributionRecord } from "../../chain/datanets.ts";
import { TransactionButton } from "../../components/TransactionButton.tsx";
import { formatToken, plural } from "../../lib/format.ts";

export function YourStakes({ contributions, account }: { contributions: ContributionRecord[]; account: Address }) {
  const ready = withdrawable(contributions, account);
  const pending = contributions.filter((c) => c.contributor.toLowerCase() === account.toLowerCase() && c.status === "pending" && c.stake > 0n);
  if (ready.length === 0 && pending.length === 0) return null;
  const total = ready.reduce((sum, c) => sum + c.released, 0n);
  return (
    <div className="panel">
      <h3>Your stakes</h3>
      {pending.length > 0 && <p>{plural(pending.length, "contribution")} awaiting a decision {pending.length === 1 ? "holds" : "hold"} {formatToken(pending.reduce((sum, c) => sum + c.stake, 0n))}.</p>}
      {ready.length > 0 && (
        <>
          <p>
            {formatToken(total)} released from {plural(ready.length, "contribution")}, ready to withdraw.
          </p>
          <TransactionButton call={withdrawStakesCall(ready.map((c) => c.id))} />
        </>
      )}
    </div>
  );
}
