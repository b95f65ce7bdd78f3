/** Publish the next version: the Merkle root over every accepted contribution, and the manifest's CID. */
import { useMemo, useState } from "react";
import { publishVersionCall, type ContributionRecord, type VersionRecord } from "../../chain/datanets.ts";
import { Field } from "../../components/Field.tsx";
import { TransactionButton } from "../../components/TransactionButton.tsx";
import { buildVersion } from "../../lib/merkle.ts";
import { isCid } from "../../lib/validation.ts";

export function PublishVersion({ datanetId, contributions, latest }: { datanetId: bigint; contributions: ContributionRecord[]; latest?: VersionRecord }) {
  const accepted = contributions.filter((c) => c.status === "accepted");
  const draft = useMemo(() => (accepted.length ? buildVersion(accepted.map((c) => ({ contributionId: c.id, contributor: c.contributor, digest: c.digest, number: c.number }))) : null), [contributions]);
  const [manifestCid, setManifestCid] = useState("");
  const cidError = manifestCid && !isCid(manifestCid) ? "Enter the IPFS CID of the version's manifest." : undefined;
  if (!draft) return <p className="hint">Accept contributions to publish a version.</p>;
  if (latest?.root === draft.root) return <p className="hint">Version {latest.version} includes every accepted contribution; accept more to publish the next one.</p>;
  return (
    <div className="panel">
      <h3>Publish a new version</h3>
      <p>
        {draft.contributionCount} accepted contributions (up to #{draft.lastContributionNumber}). Merkle root:{" "}
        <code className="break" data-testid="version-root">{draft.root}</code>
      </p>
      <Field label="Manifest CID" hint="The manifest lists the included contributions; publish it to IPFS and paste its CID." value={manifestCid} onChange={(e) => setManifestCid(e.target.value)} error={cidError} />
      <TransactionButton label="Publish the version" call={manifestCid && !cidError ? publishVersionCall(datanetId, draft, manifestCid.trim()) : null} />
    </div>
  );
}
