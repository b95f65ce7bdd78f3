/** Create a Datanet: metadata CID, licence and contribution policy, checked before signing. */
import { useState } from "react";
import { parseEventLogs } from "viem";
import { createDatanetCall } from "../chain/datanets.ts";
import { datanetRegistryAbi } from "../chain/generated/contracts.ts";
import { Field } from "../components/Field.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { validateCreateDatanet, type CreateDatanetForm } from "../lib/validation.ts";
import { navigate } from "../router.ts";

export function CreateDatanetPage() {
  const [form, setForm] = useState<CreateDatanetForm>({ metadataCid: "", licence: "CC-BY-4.0", stake: "1", maxBytes: "1048576", forfeitRejectedStake: false });
  const [touched, setTouched] = useState(false);
  const checked = validateCreateDatanet(form);
  const errors = touched && "errors" in checked ? checked.errors : {};
  const set = (key: keyof CreateDatanetForm) => (event: React.ChangeEvent<HTMLInputElement>) => {
    setTouched(true);
    setForm({ ...form, [key]: event.target.type === "checkbox" ? event.target.checked : event.target.value });
  };
  return (
    <>
      <h1>Create a Datanet</h1>
      <form className="form" onSubmit={(e) => e.preventDefault()} noValidate>
        <Field label="Metadata CID" hint="IPFS CID of a JSON description (name, schema, language)." value={form.metadataCid} onChange={set("metadataCid")} error={errors.metadataCid} placeholder="bafy…" required />
        <Field label="Licence" hint="Licence of the data, as an SPDX id." value={form.licence} onChange={set("licence")} error={errors.licence} required />
        <Field label="Stake per contribution (TRIB)" inputMode="decimal" value={form.stake} onChange={set("stake")} error={errors.stake} hint="Contributors put this up; 0 for none." />
        <Field label="Largest contribution (bytes)" inputMode="numeric" value={form.maxBytes} onChange={set("maxBytes")} error={errors.maxBytes} />
        <div className="field checkbox">
          <input id="forfeit" type="checkbox" checked={form.forfeitRejectedStake} onChange={set("forfeitRejectedStake")} />
          <label htmlFor="forfeit">A rejected contribution's stake goes to the Datanet (otherwise it is refunded)</label>
        </div>
        <TransactionButton
          label="Create the Datanet"
          call={"args" in checked ? createDatanetCall(checked.args) : null}
          onConfirmed={(receipt) => {
            const [created] = parseEventLogs({ abi: datanetRegistryAbi, logs: receipt.logs, eventName: "DatanetCreated" });
            if (created) navigate({ page: "datanet", id: created.args.datanetId });
          }}
        />
        {!touched && "errors" in checked && <p className="hint">Fill in the metadata CID to continue.</p>}
      </form>
    </>
  );
}
