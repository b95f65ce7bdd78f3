import { useQuery } from "@tanstack/react-query";
import { useNodeUrl } from "../settings.ts";
import { fetchJson, readDatanetMetadata } from "./gateway.ts";

/** A Datanet's metadata through the node's gateway; empty while loading or when the node cannot serve it. */
export function useDatanetMetadata(cid: string) {
  const nodeUrl = useNodeUrl();
  const query = useQuery({
    queryKey: ["ipfs", nodeUrl, cid],
    queryFn: async () => readDatanetMetadata(await fetchJson(nodeUrl, cid)),
    staleTime: Infinity,
    retry: false,
  });
  return query.data ?? {};
}
