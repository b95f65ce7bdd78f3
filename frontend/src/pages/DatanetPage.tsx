/** One Datanet: its terms, versions, contributors and contributions; curation, publishing and contributing. */
import { useAccount } from "wagmi";
import { forfeitedOf, getDatanet, isCurator, listContributions, listVersions, withdrawForfeitsCall } from "../chain/datanets.ts";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { useChainQuery } from "../chain/hooks.ts";
import { QueryView } from "../components/States.tsx";
import { formatBytes, formatToken, plural, shortAddress } from "../lib/format.ts";
import { Contribute } from "./datanet/Contribute.tsx";
import { Contributions } from "./datanet/Contributions.tsx";
import { Contributors } from "./datanet/Contributors.tsx";
import { Curators } from "./datanet/Curators.tsx";
import { YourStakes } from "./datanet/YourStakes.tsx";
import { useDatanetMetadata } from "../node-api/hooks.ts";
import type { DatanetSummary } from "../chain/datanets.ts";
import { PublishVersion } from "./datanet/PublishVersion.tsx";
import { Versions } from "./datanet/Versions.tsx";

export function DatanetPage({ id }: { id: bigint }) {
  const { address } = useAccount();
  const datanet = useChainQuery(["datanet", id.toString()], (client) => getDatanet(client, id));
  const contributions = useChainQuery(["contributions", id.toString()], (client) => listContributions(client, id));
  const versions = useChainQuery(["versions", id.toString()], (client) => listVersions(client, id));
  const curator = useChainQuery(["curator", id.toString(), address], (client) => isCurator(client, id, address!), Boolean(address));
  const canCurate = curator.data === true;
  const isOwner = Boolean(address && datanet.data && address.toLowerCase() === datanet.data.owner.toLowerCase());
  const forfeits = useChainQuery(["forfeits", id.toString()], (client) => forfeitedOf(client, id), isOwner);

  return (
    <QueryView query={datanet} what={`Datanet #${id}`}>
      {(d) => (
        <>
          <DatanetTitle datanet={d} />
          <dl className="facts wide">
            <dt>Owner</dt>
            <dd>
              <code>{d.owner}</code> {isOwner && <span className="badge">you</span>}
            </dd>
            <dt>Licence</dt>
            <dd>{d.licence}</dd>
            <dt>Metadata CID</dt>
            <dd>
              <code>{d.metadataCid}</code>
            </dd>
            <dt>Contribution rule</dt>
            <dd>
              Stake {formatToken(d.policy.stake)}, files up to {formatBytes(d.policy.maxBytes)};{" "}
              {d.policy.forfeitRejectedStake ? "a rejected contribution's stake is forfeited to the Datanet." : "a rejected contribution's stake is refunded."}
            </dd>
            <dt>Counts</dt>
            <dd>
              {plural(d.contributionCount, "contribution")}, {d.acceptedCount} accepted, {plural(d.versionCount, "version")}
            </dd>
          </dl>

          {isOwner && forfeits.data !== undefined && forfeits.data > 0n && (
            <div className="panel">
              <p>Rejections forfeited {formatToken(forfeits.data)} to this Datanet.</p>
              <TransactionButton call={withdrawForfeitsCall(id)} />
            </div>
          )}

          <section aria-labelledby="versions-heading">
            <h2 id="versions-heading">Versions</h2>
            <QueryView query={versions} what="versions" isEmpty={(v) => v.length === 0} empty={<p>No version published yet.</p>}>
              {(list) => <Versions versions={list} />}
            </QueryView>
            {canCurate && contributions.data && versions.data && <PublishVersion datanetId={id} contributions={contributions.data} latest={versions.data.at(-1)} />}
          </section>

          <section aria-labelledby="contributors-heading">
            <h2 id="contributors-heading">Contributors</h2>
            <QueryView query={contributions} what="contributors" isEmpty={(c) => c.length === 0} empty={<p>No contributor yet.</p>}>
              {(list) => <Contributors contributions={list} />}
            </QueryView>
          </section>

          <section aria-labelledby="contributions-heading">
            <h2 id="contributions-heading">Contributions</h2>
            <QueryView query={contributions} what="contributions" isEmpty={(c) => c.length === 0} empty={<p>No contribution yet. Be the first below.</p>}>
              {(list) => <Contributions datanetId={id} contributions={list} canCurate={canCurate} />}
            </QueryView>
          </section>

          <section aria-labelledby="curators-heading">
            <h2 id="curators-heading">Curators</h2>
            <Curators datanetId={id} isOwner={isOwner} />
          </section>

          <section aria-labelledby="contribute-heading">
            <h2 id="contribute-heading">Contribute</h2>
            {address && contributions.data && <YourStakes contributions={contributions.data} account={address} />}
            <Contribute datanet={d} />
          </section>
          {!address && <p className="hint">Connect a wallet to curate or contribute.</p>}
          {address && !canCurate && <p className="hint">You are not a curator of this Datanet ({shortAddress(address)}).</p>}
        </>
      )}
    </QueryView>
  );
}

/** The Datanet's number, and its name and description when the node can serve its metadata. */
function DatanetTitle({ datanet }: { datanet: DatanetSummary }) {
  const { name, description } = useDatanetMetadata(datanet.metadataCid);
  return (
    <>
      <h1>
        Datanet #{datanet.id.toString()}
        {name && `: ${name}`}
      </h1>
      {description && <p className="lead">{description}</p>}
    </>
  );
}
