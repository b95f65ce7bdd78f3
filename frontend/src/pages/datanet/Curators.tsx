/** The owner appoints and removes curators (who may accept, reject and publish). */
import { useState } from "react";
import { isAddress, type Address } from "viem";
import { listCurators, setCuratorCall } from "../../chain/datanets.ts";
import { useChainQuery } from "../../chain/hooks.ts";
import { Field } from "../../components/Field.tsx";
import { QueryView } from "../../components/States.tsx";
import { TransactionButton } from "../../components/TransactionButton.tsx";

export function Curators({ datanetId, isOwner }: { datanetId: bigint; isOwner: boolean }) {
  const curators = useChainQuery(["curators", datanetId.toString()], (client) => listCurators(client, datanetId));
  const [text, setText] = useState("");
  const error = text && !isAddress(text.trim()) ? "Enter an account address (0x followed by 40 hex digits)." : undefined;
  return (
    <>
      <QueryView query={curators} what="curators" isEmpty={(c) => c.length === 0} empty={<p>Only the owner curates this Datanet.</p>}>
        {(list) => (
          <ul className="plain-list">
            {list.map((curator) => (
              <li key={curator}>
                <code>{curator}</code>
                {isOwner && <TransactionButton call={setCuratorCall(datanetId, curator, false)} variant="danger" />}
              </li>
            ))}
          </ul>
        )}
      </QueryView>
      {isOwner && (
        <form className="form panel" onSubmit={(e) => e.preventDefault()} noValidate>
          <Field label="Curator address" value={text} onChange={(e) => setText(e.target.value)} error={error} placeholder="0x…" />
          <TransactionButton label="Appoint curator" call={text && !error ? setCuratorCall(datanetId, text.trim() as Address, true) : null} onConfirmed={() => setText("")} />
        </form>
      )}
    </>
  );
}
