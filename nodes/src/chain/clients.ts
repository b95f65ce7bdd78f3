/** viem clients for the node: one public client for reads and logs, and the operator's local account. */
import { createPublicClient, defineChain, http, webSocket, type Chain, type PublicClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Hex } from "viem";

export interface ChainClients {
  chain: Chain;
  publicClient: PublicClient;
  account: PrivateKeyAccount;
}

/** RPC requests time out after this long; the follower and sender handle the failure with their own retries. */
const REQUEST_TIMEOUT_MS = 10_000;

export function createChainClients(settings: { rpcUrl: string; chainId: number; operatorKey: Hex }): ChainClients {
  const chain = defineChain({
    id: settings.chainId,
    name: `tributary-${settings.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [settings.rpcUrl] } },
  });
  const transport = settings.rpcUrl.startsWith("ws")
    ? webSocket(settings.rpcUrl, { timeout: REQUEST_TIMEOUT_MS, retryCount: 0 })
    : http(settings.rpcUrl, { timeout: REQUEST_TIMEOUT_MS, retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 }) as PublicClient;
  return { chain, publicClient, account: privateKeyToAccount(settings.operatorKey) };
}
