/** React glue: the public client, and queries that refresh after every confirmed transaction. */
import { useQuery, type QueryKey } from "@tanstack/react-query";
import type { PublicClient } from "viem";
import { usePublicClient } from "wagmi";
import { requireDeployment } from "./deployment.ts";

export function useChainClient(): PublicClient {
  const client = usePublicClient();
  if (!client) throw new Error("No public client: the wagmi config has no chain.");
  return client as unknown as PublicClient;
}

/**
 * A chain read keyed under "chain", so TransactionButton's invalidation refreshes it after a confirmation.
 * `refetchEveryMs`: also re-read it on this period while it answers a number for the data read (state that others'
 * transactions change, such as a job a node is working on); false or undefined stops.
 */
export function useChainQuery<T>(key: QueryKey, read: (client: PublicClient) => Promise<T>, enabled = true, refetchEveryMs?: (data: T | undefined) => number | false | undefined) {
  const client = useChainClient();
  return useQuery({
    queryKey: ["chain", ...key],
    queryFn: () => {
      requireDeployment();
      return read(client);
    },
    enabled,
    retry: false,
    ...(refetchEveryMs ? { refetchInterval: (query: { state: { data: T | undefined } }) => refetchEveryMs(query.state.data) ?? false } : {}),
  });
}
