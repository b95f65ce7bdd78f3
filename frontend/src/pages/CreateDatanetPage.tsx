/**
 * Create a Datanet: its name and description stored through the node (or a metadata CID pasted), licence and
 * contribution policy, checked before signing.
 */
import { useState } from "react";
import { parseEventLogs } from "viem";
import { createDatanetCall } from "../chain/datanets.ts";
import { datanetRegistryAbi } from "../chain/generated/contracts.ts";
import { Field } from "../components/Field.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { validateCreateDatanet, type CreateDatanetForm } from "../lib/validation.ts";
import { uploadDatanetMetadata } from "../node-api/datanets.ts";
import { navigate } from "../router.ts";
import { useNodeUrl } from "../settings.ts";

export function CreateDatanetPage() {
  const [form, setForm] = useState<CreateDatanetForm>({ metadataCid: "", licence: "CC-BY-4.0", stake: "1", maxBytes: "1048576", forfeitRejectedStake: false });
  const [touched, setTouched] = useState(false);
  const nodeUrl = useNodeUrl();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [stored, setStored] = useState<{ status: "idle" | "uploading" } | { status: "done"; cid: string } | { status: "failed"; message: string }>({ status: "idle" });
  const checked = validateCreateDatanet(form);
  const errors = touched && "errors" in checked ? checked.errors : {};
  const set = (key: keyof CreateDatanetForm) => (event: React.ChangeEvent<HTMLInputElement>) => {
    setTouched(true);
    setForm({ ...form, [key]: event.target.type === "checkbox" ? event.target.checked : event.target.value });
  };
  async function storeDescription() {
    setStored({ status: "uploading" });
    try {
      const cid = await uploadDatanetMetadata(nodeUrl, { name, description });
      setStored({ status: "done", cid });
      setForm((f) => ({ ...f, metadataCid: cid }));
    } catch (error) {
      setStored({ status: "failed", message: (error as Error).message });
    }
  }
  return (
    <>
      <h1>Create a Datanet</h1>
      <form className="form" onSubmit={(e) => e.preventDefault()} noValidate>
        <fieldset>
          <legend>What it holds</legend>
          <Field label="Name" value={name} maxLength={200} onChange={(e) => { setName(e.target.value); setStored({ status: "idle" }); }} placeholder="e.g. Tide tables of the North Sea" />
          <div className="field">
            <label htmlFor="datanet-description">Description</label>
            <textarea id="datanet-description" rows={3} value={description} onChange={(e) => { setDescription(e.target.value); setStored({ status: "idle" }); }} aria-describedby="datanet-description-hint" />
            <p className="hint" id="datanet-description-hint">What a contribution should be, and what a model trained on it is for.</p>
          </div>
          <button type="button" className="button secondary" onClick={storeDescription} disabled={!name.trim() || stored.status === "uploading" || stored.status === "done"}>
            {stored.status === "done" ? "Description stored" : stored.status === "uploading" ? "Storing…" : "Store the description on the node"}
          </button>
          <div role="status" aria-live="polite">
            {stored.status === "done" && <p className="ok">Stored on the node's IPFS; its CID is filled in below.</p>}
            {stored.status === "failed" && <p className="field-error" role="alert">{stored.message}</p>}
          </div>
        </fieldset>
        <Field label="Metadata CID" hint="IPFS CID of the description: filled in when the node stores it, or paste your own." value={form.metadataCid} onChange={set("metadataCid")} error={errors.metadataCid} placeholder="bafy…" required />
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
        {!touched && "errors" in checked && <p className="hint">Store the description (or paste a metadata CID) to continue.</p>}
      </form>
    </>
  );
}
