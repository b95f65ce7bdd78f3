/** Browse and search Datanets (from DatanetCreated events; current state from the registry). */
import { useQueries } from "@tanstack/react-query";
import { useState } from "react";
import { listDatanets, type DatanetSummary } from "../chain/datanets.ts";
import { useChainQuery } from "../chain/hooks.ts";
import { QueryView } from "../components/States.tsx";
import { formatBytes, formatToken, shortAddress, shortHash } from "../lib/format.ts";
import { fetchJson, readDatanetMetadata, type DatanetMetadata } from "../node-api/gateway.ts";
import { href } from "../router.ts";
import { useNodeUrl } from "../settings.ts";

/** Names from each Datanet's metadata, through the node's gateway (missing while loading or when it cannot serve). */
function useMetadata(datanets: readonly DatanetSummary[]): Map<string, DatanetMetadata> {
  const nodeUrl = useNodeUrl();
  const results = useQueries({
    queries: datanets.map((d) => ({
      queryKey: ["ipfs", nodeUrl, d.metadataCid],
      queryFn: async () => readDatanetMetadata(await fetchJson(nodeUrl, d.metadataCid)),
      staleTime: Infinity,
      retry: false,
    })),
  });
  return new Map(datanets.map((d, i) => [d.metadataCid, results[i]?.data ?? {}]));
}

/** Whether a Datanet matches a search: its id, owner, licence, metadata CID or name contains every word typed. */
export function matchesSearch(datanet: DatanetSummary, search: string, name = ""): boolean {
  const haystack = [`#${datanet.id}`, datanet.id.toString(), datanet.owner, datanet.licence, datanet.metadataCid, name].join(" ").toLowerCase();
  return search.toLowerCase().split(/\s+/).filter(Boolean).every((word) => haystack.includes(word));
}

export function DatanetsPage() {
  const datanets = useChainQuery(["datanets"], listDatanets);
  const [search, setSearch] = useState("");
  const metadata = useMetadata(datanets.data ?? []);
  return (
    <>
      <div className="page-title">
        <h1>Datanets</h1>
        <a className="button primary" href={href({ page: "datanet-new" })}>
          Create a Datanet
        </a>
      </div>
      <p className="lead">Curated, versioned datasets. Contributors stake on their data; curators accept it; versions commit a Merkle root that models are trained on.</p>
      <div className="field search">
        <label htmlFor="datanet-search">Search</label>
        <input id="datanet-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name, id, owner, licence or CID" />
      </div>
      <QueryView
        query={datanets}
        what="Datanets"
        isEmpty={(list) => list.length === 0}
        empty={<p>No Datanet yet. <a href={href({ page: "datanet-new" })}>Create the first one</a>.</p>}
      >
        {(list) => {
          const shown = list.filter((d) => matchesSearch(d, search, metadata.get(d.metadataCid)?.name));
          if (shown.length === 0) return <p className="state empty">No Datanet matches “{search}”.</p>;
          return (
            <ul className="cards">
              {shown.map((d) => (
                <li key={d.id.toString()} className="card">
                  <h2>
                    <a href={href({ page: "datanet", id: d.id })}>
                      Datanet #{d.id.toString()}
                      {metadata.get(d.metadataCid)?.name && `: ${metadata.get(d.metadataCid)?.name}`}
                    </a>
                  </h2>
                  {metadata.get(d.metadataCid)?.description && <p className="hint">{metadata.get(d.metadataCid)?.description}</p>}
                  <dl className="facts">
                    <dt>Licence</dt>
                    <dd>{d.licence}</dd>
                    <dt>Owner</dt>
                    <dd title={d.owner}>{shortAddress(d.owner)}</dd>
                    <dt>Contributions</dt>
                    <dd>
                      {d.contributionCount} ({d.acceptedCount} accepted)
                    </dd>
                    <dt>Versions</dt>
                    <dd>{d.versionCount}</dd>
                    <dt>Stake</dt>
                    <dd>{formatToken(d.policy.stake)}, up to {formatBytes(d.policy.maxBytes)}</dd>
                    <dt>Metadata</dt>
                    <dd title={d.metadataCid}>
                      <code>{shortHash(d.metadataCid)}</code>
                    </dd>
                  </dl>
                </li>
              ))}
            </ul>
          );
        }}
      </QueryView>
    </>
  );
}
