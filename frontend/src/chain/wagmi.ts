/**
 * The wagmi config: one chain (the local Tributary chain from the deployment) and RainbowKit with the browser's
 * injected wallet only. No WalletConnect project and no other remote service: the dApp runs offline.
 */
import { connectorsForWallets } from "@rainbow-me/rainbowkit";
import { injectedWallet } from "@rainbow-me/rainbowkit/wallets";
import { defineChain } from "viem";
import { createConfig, http } from "wagmi";
import { deployment } from "./deployment.ts";

const rpcUrl = deployment?.rpcUrl ?? "http://127.0.0.1:8545";

export const tributaryChain = defineChain({
  id: deployment?.chainId ?? 31337,
  name: "Tributary local",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [rpcUrl] } },
  testnet: true,
});

const connectors = connectorsForWallets([{ groupName: "Browser wallet", wallets: [injectedWallet] }], {
  appName: "Tributary",
  // Required by the type; only WalletConnect-based wallets read it and none is configured.
  projectId: "offline",
});

export const wagmiConfig = createConfig({
  chains: [tributaryChain],
  connectors,
  transports: { [tributaryChain.id]: http(rpcUrl) },
  // Hardhat mines on demand: poll fast so confirmations show at once.
  pollingInterval: 500,
});
