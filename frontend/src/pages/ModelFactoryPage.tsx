/**
 * ModelFactory: choose a base model, a published Datanet version and hyper-parameters (a preset, or the advanced
 * panel checked as you type against the node's schema), see the fee and an estimate of the time, put the
 * hyper-parameters on the node's IPFS, then approve and create the job. The job's page follows it live.
 */
import { useMemo, useState } from "react";
import { decodeEventLog, type Address, type TransactionReceipt } from "viem";
import { useAccount } from "wagmi";
import { listContributions, listDatanets, listVersions } from "../chain/datanets.ts";
import { modelRegistryAbi } from "../chain/generated/contracts.ts";
import { useChainQuery } from "../chain/hooks.ts";
import { createJobCall, listBaseModels, listJobs, modelRegistryAddress } from "../chain/models.ts";
import { allowance, approveCall } from "../chain/token.ts";
import { Field } from "../components/Field.tsx";
import { QueryView } from "../components/States.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { formatBytes, formatToken, shortAddress } from "../lib/format.ts";
import {
  estimateTraining,
  formatDuration,
  formFromPreset,
  HYPERPARAMETER_PRESETS,
  matchingPreset,
  TARGET_MODULES,
  validateHyperparameterForm,
  type HyperparameterForm,
  type NumericField,
} from "../lib/hyperparameters.ts";
import { parseTokenAmount } from "../lib/validation.ts";
import { uploadHyperparameters } from "../node-api/jobs.ts";
import { href, navigate } from "../router.ts";
import { useNodeUrl } from "../settings.ts";

const FIELD_LABELS: Record<NumericField, { label: string; hint: string; step: string }> = {
  rank: { label: "LoRA rank", hint: "Size of the low-rank update (1–256). Higher learns more, and memorizes more easily.", step: "1" },
  alpha: { label: "LoRA alpha", hint: "Scales the update by alpha / rank.", step: "any" },
  learningRate: { label: "Learning rate", hint: "AdamW peak rate, above 0 and at most 1.", step: "any" },
  epochs: { label: "Epochs", hint: "Passes over the training split (1–100).", step: "1" },
  batchSize: { label: "Batch size", hint: "Sequences per optimizer step.", step: "1" },
  sequenceLength: { label: "Sequence length", hint: "Tokens per training window (8–8192), within the base model's context.", step: "1" },
  seed: { label: "Seed", hint: "Fixes the data order, the held-out split and the initialisation: the same seed retrains the same adapter.", step: "1" },
};

const PRESET_WORDS: Record<string, string> = {
  tiny: "a quick check (rank 4, 1 epoch)",
  standard: "a real adapter (rank 8, 3 epochs, attention projections)",
  thorough: "every projection (rank 16, 5 epochs)",
};

export function ModelFactoryPage() {
  const { address } = useAccount();
  const nodeUrl = useNodeUrl();
  const bases = useChainQuery(["baseModels"], listBaseModels);
  const datanets = useChainQuery(["datanets"], listDatanets);
  const jobs = useChainQuery(["jobs"], listJobs);
  const [baseModelId, setBaseModelId] = useState("");
  const [datanetId, setDatanetId] = useState("");
  const [version, setVersion] = useState("");
  const [form, setForm] = useState<HyperparameterForm>(() => formFromPreset("tiny"));
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [feeText, setFeeText] = useState("10");
  const [hoursText, setHoursText] = useState("24");
  const [upload, setUpload] = useState<{ status: "idle" | "uploading" } | { status: "done"; cid: string; document: string } | { status: "failed"; message: string }>({ status: "idle" });

  const selectedDatanet = datanetId === "" ? undefined : BigInt(datanetId);
  const versions = useChainQuery(["versions", datanetId], (client) => listVersions(client, selectedDatanet!), selectedDatanet !== undefined);
  const contributions = useChainQuery(["contributions", datanetId], (client) => listContributions(client, selectedDatanet!), selectedDatanet !== undefined);
  const chosenVersion = versions.data?.find((v) => String(v.version) === version);
  const datasetBytes = useMemo(() => {
    if (!chosenVersion || !contributions.data) return undefined;
    return contributions.data
      .filter((c) => c.status === "accepted" && c.number <= chosenVersion.lastContributionNumber)
      .reduce((sum, c) => sum + Number(c.byteSize), 0);
  }, [chosenVersion, contributions.data]);

  const checked = validateHyperparameterForm(form);
  const errors = "errors" in checked ? checked.errors : {};
  const preset = matchingPreset(form);
  const fee = parseTokenAmount(feeText, { allowZero: false });
  const hours = Number(hoursText);
  const hoursError = Number.isInteger(hours) && hours >= 1 && hours <= 24 * 90 ? undefined : "Whole hours from 1 to 2160 (90 days).";
  const estimate = "document" in checked && datasetBytes !== undefined ? estimateTraining(checked.document, datasetBytes) : undefined;
  const documentJson = "document" in checked ? JSON.stringify(checked.document) : undefined;
  const uploadedCid = upload.status === "done" && upload.document === documentJson ? upload.cid : undefined;

  const spendable = useChainQuery(["allowance", address, "models"], (client) => allowance(client, address as Address, modelRegistryAddress()), Boolean(address));
  const needsApproval = typeof fee === "bigint" && (spendable.data ?? 0n) < fee;

  const ready = baseModelId !== "" && chosenVersion !== undefined && uploadedCid !== undefined && typeof fee === "bigint" && !hoursError;
  const call = ready
    ? createJobCall({
        datanetId: selectedDatanet!,
        datanetVersion: chosenVersion.version,
        baseModelId: BigInt(baseModelId),
        hyperParamsCid: uploadedCid,
        fee,
        deadline: BigInt(Math.floor(Date.now() / 1000) + hours * 3600),
      })
    : null;

  const setField = (field: NumericField, value: string) => setForm((f) => ({ ...f, [field]: value }));
  const toggleModule = (module: (typeof TARGET_MODULES)[number], on: boolean) =>
    setForm((f) => ({ ...f, targetModules: on ? [...f.targetModules, module] : f.targetModules.filter((m) => m !== module) }));

  async function sendHyperparameters() {
    if (!("document" in checked)) return;
    setUpload({ status: "uploading" });
    try {
      const cid = await uploadHyperparameters(nodeUrl, checked.document);
      setUpload({ status: "done", cid, document: JSON.stringify(checked.document) });
    } catch (error) {
      setUpload({ status: "failed", message: (error as Error).message });
    }
  }

  function openCreatedJob(receipt: TransactionReceipt) {
    for (const log of receipt.logs) {
      try {
        const event = decodeEventLog({ abi: modelRegistryAbi, data: log.data, topics: log.topics });
        if (event.eventName === "JobCreated") return navigate({ page: "job", id: (event.args as { jobId: bigint }).jobId });
      } catch {
        // another contract's log (the token transfer)
      }
    }
  }

  return (
    <>
      <h1>ModelFactory</h1>
      <p className="lead">Fine-tune a LoRA adapter of a base model on a published Datanet version. A staked node takes the job, trains, evaluates and mints the model.</p>

      <form className="form" onSubmit={(e) => e.preventDefault()} aria-labelledby="new-job">
        <h2 id="new-job">New training job</h2>
        <div className="field">
          <label htmlFor="base-model">Base model</label>
          <QueryView query={bases} what="base models" isEmpty={(b) => b.length === 0} empty={<p>No base model is registered.</p>}>
            {(list) => (
              <select id="base-model" value={baseModelId} onChange={(e) => setBaseModelId(e.target.value)}>
                <option value="">Choose a base model</option>
                {list.filter((b) => !b.deprecated).map((b) => (
                  <option key={b.id.toString()} value={b.id.toString()}>
                    #{b.id.toString()} {b.name} ({b.licence})
                  </option>
                ))}
              </select>
            )}
          </QueryView>
        </div>
        <div className="field">
          <label htmlFor="datanet">Datanet</label>
          <QueryView query={datanets} what="Datanets" isEmpty={(d) => d.length === 0} empty={<p>No Datanet exists yet: <a href={href({ page: "datanet-new" })}>create one</a>.</p>}>
            {(list) => (
              <select id="datanet" value={datanetId} onChange={(e) => { setDatanetId(e.target.value); setVersion(""); }}>
                <option value="">Choose a Datanet</option>
                {list.map((d) => (
                  <option key={d.id.toString()} value={d.id.toString()}>
                    #{d.id.toString()} ({d.licence}, {d.versionCount} {d.versionCount === 1 ? "version" : "versions"})
                  </option>
                ))}
              </select>
            )}
          </QueryView>
        </div>
        {selectedDatanet !== undefined && (
          <div className="field">
            <label htmlFor="datanet-version">Version</label>
            <QueryView query={versions} what="versions" isEmpty={(v) => v.length === 0} empty={<p>This Datanet has no published version to train on.</p>}>
              {(list) => (
                <select id="datanet-version" value={version} onChange={(e) => setVersion(e.target.value)}>
                  <option value="">Choose a version</option>
                  {list.map((v) => (
                    <option key={v.version} value={String(v.version)}>
                      v{v.version}: {v.contributionCount} contributions
                    </option>
                  ))}
                </select>
              )}
            </QueryView>
            {datasetBytes !== undefined && <p className="hint">{formatBytes(datasetBytes)} of accepted data in this version.</p>}
          </div>
        )}

        <fieldset className="presets">
          <legend>Hyper-parameters</legend>
          {Object.keys(HYPERPARAMETER_PRESETS).map((name) => (
            <div className="field checkbox" key={name}>
              <input type="radio" id={`preset-${name}`} name="preset" checked={preset === name} onChange={() => setForm(formFromPreset(name))} />
              <label htmlFor={`preset-${name}`}>
                <strong>{name}</strong>: {PRESET_WORDS[name] ?? "preset"}
              </label>
            </div>
          ))}
          {!preset && <p className="hint">Custom: you changed the preset in the advanced panel.</p>}
        </fieldset>
        <details className="advanced" open={advancedOpen || Object.keys(errors).length > 0} onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}>
          <summary>Advanced</summary>
          <div className="field-grid">
            {(Object.keys(FIELD_LABELS) as NumericField[]).map((field) => (
              <Field
                key={field}
                label={FIELD_LABELS[field].label}
                hint={FIELD_LABELS[field].hint}
                error={errors[field]}
                inputMode="decimal"
                value={form[field]}
                onChange={(e) => setField(field, e.target.value)}
              />
            ))}
          </div>
          <fieldset aria-describedby={errors.targetModules ? "modules-error" : undefined}>
            <legend>Adapted projections</legend>
            {TARGET_MODULES.map((m) => (
              <div className="field checkbox inline" key={m}>
                <input type="checkbox" id={`module-${m}`} checked={form.targetModules.includes(m)} onChange={(e) => toggleModule(m, e.target.checked)} />
                <label htmlFor={`module-${m}`}>{m}</label>
              </div>
            ))}
            {errors.targetModules && <p className="field-error" id="modules-error">{errors.targetModules}</p>}
          </fieldset>
        </details>

        <Field label="Fee (TRIB)" hint="Escrowed now; the node that delivers is paid after the dispute window. Refundable if no node finishes by the deadline." error={typeof fee === "string" ? fee : undefined} inputMode="decimal" value={feeText} onChange={(e) => setFeeText(e.target.value)} />
        <Field label="Deadline (hours from now)" hint="After this an unfinished job is refundable." error={hoursError} inputMode="numeric" value={hoursText} onChange={(e) => setHoursText(e.target.value)} />

        <div className="panel" aria-live="polite" data-testid="job-estimate">
          {estimate ? (
            <p>
              About {estimate.tokens.toLocaleString("en-US")} tokens, {estimate.steps.toLocaleString("en-US")} optimizer steps: roughly <strong>{formatDuration(estimate.seconds)}</strong> on a 2-core CPU node
              {typeof fee === "bigint" && <>, for a fee of <strong>{formatToken(fee)}</strong></>}. The node reports the real ETA once it trains.
            </p>
          ) : (
            <p>Choose a Datanet version and valid hyper-parameters to see an estimate.</p>
          )}
        </div>

        <ol className="steps">
          <li>
            <button type="button" className="button secondary" onClick={sendHyperparameters} disabled={!documentJson || upload.status === "uploading" || uploadedCid !== undefined}>
              {uploadedCid ? "Hyper-parameters stored" : "Store the hyper-parameters on the node"}
            </button>
            <div role="status" aria-live="polite">
              {upload.status === "uploading" && <p>Uploading…</p>}
              {uploadedCid && <p className="ok">Stored as <code className="break">{uploadedCid}</code>.</p>}
              {upload.status === "failed" && <p className="field-error" role="alert">{upload.message}</p>}
            </div>
          </li>
          {needsApproval && typeof fee === "bigint" && (
            <li>
              <TransactionButton call={approveCall(modelRegistryAddress(), fee, "model registry", "fee")} variant="secondary" />
            </li>
          )}
          <li>
            <TransactionButton call={needsApproval ? null : call} label="Pay and create the training job" onConfirmed={openCreatedJob} />
            {!ready && <p className="hint">Choose a base model and a version, and store the hyper-parameters first.</p>}
          </li>
        </ol>
      </form>

      <section aria-labelledby="jobs-heading">
        <h2 id="jobs-heading">Training jobs</h2>
        <QueryView query={jobs} what="jobs" isEmpty={(j) => j.length === 0} empty={<p>No training job yet.</p>}>
          {(list) => (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Status</th>
                    <th scope="col">Datanet</th>
                    <th scope="col">Fee</th>
                    <th scope="col">Requester</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((j) => (
                    <tr key={j.id.toString()}>
                      <td><a href={href({ page: "job", id: j.id })}>Job #{j.id.toString()}</a></td>
                      <td><span className="badge">{j.status}</span></td>
                      <td>#{j.datanetId.toString()} v{j.datanetVersion}</td>
                      <td>{formatToken(j.fee)}</td>
                      <td title={j.requester}>{shortAddress(j.requester)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </section>
    </>
  );
}
