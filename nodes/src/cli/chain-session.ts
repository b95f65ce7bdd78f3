/** What the operator commands need: the config, the protocol's ABIs and clients, and the transaction sender. */
import type { Logger } from "pino";
import { createChainClients } from "../chain/clients.ts";
import { loadProtocolAbis, resolveProtocolAddresses } from "../chain/contracts.ts";
import { ProtocolChain } from "../chain/protocol.ts";
import { TxSender } from "../chain/tx-sender.ts";
import { loadConfig, type ConfigSources, type NodeConfig } from "../config/load.ts";
import { createLogger } from "../runtime/logger.ts";

export interface ChainSession {
  config: NodeConfig;
  chain: ProtocolChain;
  logger: Logger;
}

export async function openChainSession(sources: ConfigSources): Promise<ChainSession> {
  const config = await loadConfig(sources);
  // Command output goes to stdout; the sender's retries are warnings worth seeing on stderr.
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, process.stderr);
  const abis = await loadProtocolAbis();
  const { publicClient, account } = createChainClients(config);
  const addresses = await resolveProtocolAddresses(publicClient, abis, config.contracts, { attempts: 2 });
  const sender = new TxSender({ client: publicClient, account, chainId: config.chainId, abis, addresses, logger });
  return { config, logger, chain: new ProtocolChain({ abis, addresses, client: publicClient, account, sender }) };
}
