/**
 * Publish the next version: the Merkle root over every accepted contribution, built here, and the manifest's CID.
 * The node builds and pins the manifest; the page publishes it only when the node's root is the one it built itself
 * (a manifest CID can also be pasted, for a manifest published elsewhere).
 */
import { useMemo, useState } from "react";
import { publishVersionCall, type ContributionRecord, type VersionRecord } from "../../chain/datanets.ts";
import { Field } from "../../components/Field.tsx";
import { TransactionButton } from "../../components/TransactionButton.tsx";
import { buildVersion } from "../../lib/merkle.ts";
import { isCid } from "../../lib/validation.ts";
import { buildVersionManifest } from "../../node-api/datanets.ts";
import { useNodeUrl } from "../../settings.ts";

export function PublishVersion({ datanetId, contributions, latest }: { datanetId: bigint; contributions: ContributionRecord[]; latest?: VersionRecord }) {
  const nodeUrl = useNodeUrl();
  const accepted = contributions.filter((c) => c.status === "accepted");
  const draft = useMemo(() => (accepted.length ? buildVersion(accepted.map((c) => ({ contributionId: c.id, contributor: c.contributor, digest: c.digest, number: c.number }))) : null), [contributions]);
  const [manifestCid, setManifestCid] = useState("");
  const [building, setBuilding] = useState<{ status: "idle" | "building" } | { status: "failed"; message: string }>({ status: "idle" });
  const cidError = manifestCid && !isCid(manifestCid) ? "Enter the IPFS CID of the version's manifest." : undefined;
  if (!draft) return <p className="hint">Accept contributions to publish a version.</p>;
  if (latest?.root === draft.root) return <p className="hint">Version {latest.version} includes every accepted contribution; accept more to publish the next one.</p>;

  async function build() {
    setBuilding({ status: "building" });
    try {
      const built = await buildVersionManifest(nodeUrl, datanetId);
      if (built.root !== draft!.root || built.contributionCount !== draft!.contributionCount) {
        setBuilding({
          status: "failed",
          message: `The node's manifest covers ${built.contributionCount} contributions with root ${built.root}, not the ${draft!.contributionCount} accepted here (root ${draft!.root}). The node may not have seen the latest decision yet: try again in a moment.`,
        });
        return;
      }
      setManifestCid(built.cid);
      setBuilding({ status: "idle" });
    } catch (error) {
      setBuilding({ status: "failed", message: (error as Error).message });
    }
  }

  return (
    <div className="panel">
      <h3>Publish a new version</h3>
      <p>
        {draft.contributionCount} accepted contributions (up to #{draft.lastContributionNumber}). Merkle root:{" "}
        <code className="break" data-testid="version-root">{draft.root}</code>
      </p>
      <ol className="steps">
        <li>
          <button type="button" className="button secondary" onClick={build} disabled={building.status === "building" || Boolean(manifestCid)}>
            {manifestCid ? "Manifest ready" : building.status === "building" ? "Building…" : "Build the manifest on the node"}
          </button>
          <div role="status" aria-live="polite">
            {building.status === "failed" && <p className="field-error" role="alert">{building.message}</p>}
          </div>
          <Field
            label="Manifest CID"
            hint="The manifest lists the included contributions; the node builds and pins it with the same root, or paste the CID of one published elsewhere."
            value={manifestCid}
            onChange={(e) => setManifestCid(e.target.value)}
            error={cidError}
          />
        </li>
        <li>
          <TransactionButton label="Publish the version" call={manifestCid && !cidError ? publishVersionCall(datanetId, draft, manifestCid.trim()) : null} />
        </li>
      </ol>
    </div>
  );
}
