/**
 * `tributary-node claim --node <address> [--api <url>] [--account <address>]`: claims a contributor's credit
 * from a node's pool. The credit and its Merkle proof come from the node's HTTP API (`GET /v1/credits/:account`,
 * default: the node's registered endpoint); the claim is checked against the chain's final root before it is
 * sent. The wallet is the configured key (`operatorKey`); `--account` claims for another account (anyone may
 * submit a claim; the tokens go to the credited account).
 */
import { createWalletClient, defineChain, getAddress, http, isAddress, type Address, type Hex } from "viem";
import { claimCredit, CreditError, type CreditEntry } from "../settle/credits.ts";
import { loadSettlementAbis } from "../settle/settlement-scheduler.ts";
import type { ChainSession } from "./chain-session.ts";
import { UsageError } from "./errors.ts";

export async function claimCommand(session: ChainSession, options: { node?: string; api?: string; account?: string }): Promise<number> {
  const { chain, config } = session;
  if (options.node === undefined || !isAddress(options.node, { strict: false })) throw new UsageError(`--node must be the node's operator address (got ${options.node ?? "nothing"}).`);
  const node = getAddress(options.node);
  const account: Address = options.account !== undefined ? getAddress(options.account) : chain.account.address;
  const api = (options.api ?? (await endpointOf(session, node))).replace(/\/+$/, "");
  const response = await fetch(`${api}/v1/credits/${account}`);
  if (response.status === 404) {
    console.log(`Node ${node} has no final credit for ${account} yet (a root may still be in its dispute window).`);
    return 1;
  }
  if (!response.ok) throw new CreditError(`${api}/v1/credits/${account} answered ${response.status}: ${await response.text()}`);
  const entry = (await response.json()) as CreditEntry;
  if (getAddress(entry.node) !== node) throw new CreditError(`${api} answered for node ${entry.node}, not ${node}.`);
  const abis = await loadSettlementAbis();
  const pools = (await chain.client.readContract({ address: chain.addresses.settlement, abi: abis.settlement, functionName: "contributorPools" })) as Address;
  const viemChain = defineChain({ id: config.chainId, name: `tributary-${config.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [config.rpcUrl] } } });
  const wallet = createWalletClient({ account: chain.account, chain: viemChain, transport: http(config.rpcUrl) });
  const { paid, txHash } = await claimCredit(wallet, chain.client, pools, abis.pools, { ...entry, account });
  if (paid === 0n) console.log(`Nothing to claim: ${account} already claimed its ${entry.cumulative} from node ${node}.`);
  else console.log(`Claimed ${paid} token units for ${account} from node ${node} (cumulative ${entry.cumulative}, batch ${entry.batchId}, tx ${txHash as Hex}).`);
  return 0;
}

async function endpointOf(session: ChainSession, node: Address): Promise<string> {
  const info = (await session.chain.read("nodes", "getNode", [node])) as unknown as { endpoint?: string };
  if (!info.endpoint) throw new UsageError(`Node ${node} has no registered endpoint: pass --api <url>.`);
  return info.endpoint;
}
