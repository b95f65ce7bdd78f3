/**
 * Contribute a file: upload it to the node (which stores it on IPFS and answers its digest and metadata CID), then
 * register it on-chain. The stake and the forfeit rule are shown, and consented to, before anything is signed.
 */
import { useState } from "react";
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { contributeCall, registryAddress, type DatanetSummary } from "../../chain/datanets.ts";
import { useChainQuery } from "../../chain/hooks.ts";
import { allowance, approveCall } from "../../chain/token.ts";
import { Field } from "../../components/Field.tsx";
import { ErrorNotice } from "../../components/States.tsx";
import { TransactionButton } from "../../components/TransactionButton.tsx";
import { formatBytes, formatToken } from "../../lib/format.ts";
import { contributionType, uploadContribution, type UploadedContribution } from "../../node-api/contributions.ts";
import { useNodeUrl } from "../../settings.ts";

export function Contribute({ datanet }: { datanet: DatanetSummary }) {
  const nodeUrl = useNodeUrl();
  const { address } = useAccount();
  const [file, setFile] = useState<File | null>(null);
  const [title, setTitle] = useState("");
  const [language, setLanguage] = useState("en");
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const [uploaded, setUploaded] = useState<UploadedContribution | null>(null);
  const [consent, setConsent] = useState(false);
  const { stake, maxBytes, forfeitRejectedStake } = datanet.policy;
  const spendable = useChainQuery(["allowance", address, datanet.id.toString()], (client) => allowance(client, address as Address, registryAddress()), Boolean(address) && stake > 0n);

  const fileError = file
    ? !contributionType(file)
      ? "Upload a .txt, .md or .jsonl file."
      : file.size > maxBytes
        ? `The file is ${formatBytes(file.size)}; this Datanet accepts up to ${formatBytes(maxBytes)}.`
        : undefined
    : undefined;

  async function upload() {
    if (!file) return;
    setUploading(true);
    setUploadError(null);
    try {
      setUploaded(await uploadContribution(nodeUrl, file, { title: title.trim() || file.name, licence: datanet.licence, language }));
    } catch (error) {
      setUploadError(error);
    } finally {
      setUploading(false);
    }
  }

  const needsConsent = forfeitRejectedStake && stake > 0n;
  const needsApproval = stake > 0n && (spendable.data ?? 0n) < stake;
  return (
    <div className="panel">
      <ol className="steps">
        <li>
          <h3>Upload the file to your node</h3>
          <div className="field">
            <label htmlFor="contribution-file">File (.txt, .md or .jsonl)</label>
            <input
              id="contribution-file"
              type="file"
              accept=".txt,.md,.jsonl,text/plain,text/markdown,application/jsonl"
              aria-describedby={fileError ? "contribution-file-error" : undefined}
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                setUploaded(null);
              }}
            />
            {fileError && (
              <p className="field-error" id="contribution-file-error">
                {fileError}
              </p>
            )}
          </div>
          <Field label="Title" value={title} onChange={(e) => setTitle(e.target.value)} placeholder={file?.name ?? "What the file holds"} />
          <Field label="Language" value={language} onChange={(e) => setLanguage(e.target.value)} hint="BCP 47 tag, e.g. en." />
          <p className="hint">
            Licence: {datanet.licence} (the Datanet's). Node: <code>{nodeUrl}</code> (change it in Settings).
          </p>
          <button type="button" className="button secondary" onClick={upload} disabled={!file || Boolean(fileError) || uploading} aria-busy={uploading}>
            {uploading ? "Uploading…" : "Upload to the node"}
          </button>
          {uploadError !== null && <ErrorNotice error={uploadError} title="Upload failed" />}
          {uploaded && (
            <p className="ok">
              Stored as <code className="break">{uploaded.cid}</code> ({formatBytes(uploaded.byteSize)}).
            </p>
          )}
        </li>
        <li>
          <h3>Register it on-chain</h3>
          <p data-testid="stake-terms">
            {stake === 0n
              ? "This Datanet asks no stake."
              : `You stake ${formatToken(stake)}. If the contribution is accepted, or rejected without forfeit, you withdraw it afterwards.`}{" "}
            {stake > 0n && (forfeitRejectedStake ? <strong>If it is rejected, the stake is forfeited to the Datanet.</strong> : "If it is rejected, the stake is refunded.")}
          </p>
          {needsConsent && (
            <div className="field checkbox">
              <input id="forfeit-consent" type="checkbox" checked={consent} onChange={(e) => setConsent(e.target.checked)} />
              <label htmlFor="forfeit-consent">I accept that a rejection forfeits my stake of {formatToken(stake)}.</label>
            </div>
          )}
          {needsApproval && <TransactionButton call={approveCall(registryAddress(), stake, "Datanet registry")} variant="secondary" />}
          <TransactionButton
            label="Register the contribution"
            call={uploaded && (!needsConsent || consent) && !needsApproval ? contributeCall(datanet.id, uploaded, datanet.policy, consent) : null}
            onConfirmed={() => {
              setUploaded(null);
              setConsent(false);
            }}
          />
        </li>
      </ol>
    </div>
  );
}
