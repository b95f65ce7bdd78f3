/**
 * A test wallet for the browser: `window.ethereum` (EIP-1193) whose requests go through `page.exposeFunction` to
 * this process, where a viem local account (Hardhat's default mnemonic) signs transactions and messages and every
 * other request is forwarded to the chain's RPC. Like a real wallet it reports no account until the page asks
 * for them (eth_requestAccounts).
 */
import type { Page } from "playwright-core";
import { createWalletClient, http, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** The page side: a provider object that sends each request to the exposed function and throws its errors. */
const PROVIDER_SCRIPT = `(() => {
  const listeners = {};
  const provider = {
    isTributaryTestWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.__tributaryWallet(method, JSON.stringify(params ?? [])));
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        error.data = answer.error.data;
        throw error;
      }
      if (method === "eth_requestAccounts" || method === "wallet_requestPermissions") {
        setTimeout(() => (listeners.accountsChanged || []).forEach((fn) => fn(answer.accounts)), 0);
      }
      return answer.result;
    },
    on(event, fn) { (listeners[event] ||= []).push(fn); return provider; },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); return provider; },
  };
  window.ethereum = provider;
})();`;

/** Requests a real wallet would ask its user to approve (connecting, sending, signing). */
const PROMPTING = new Set(["eth_requestAccounts", "wallet_requestPermissions", "eth_sendTransaction", "personal_sign", "eth_signTypedData_v4"]);

export interface TestWallet {
  account: ReturnType<typeof mnemonicToAccount>;
  /** The prompting requests the page made so far, in order (their method names). */
  prompts: string[];
}

export async function installTestWallet(page: Page, rpcUrl: string, accountIndex = 1): Promise<TestWallet> {
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: accountIndex });
  const prompts: string[] = [];
  const wallet = createWalletClient({ account, transport: http(rpcUrl) });
  let connected = false;
  let nextId = 1;

  async function forward(method: string, params: unknown[]): Promise<{ result?: unknown; error?: RpcError }> {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
    });
    return (await response.json()) as { result?: unknown; error?: RpcError };
  }

  async function handle(method: string, params: unknown[]): Promise<{ result?: unknown; error?: RpcError; accounts?: string[] }> {
    switch (method) {
      case "eth_requestAccounts":
        connected = true;
        return { result: [account.address], accounts: [account.address] };
      case "eth_accounts":
        return { result: connected ? [account.address] : [] };
      case "wallet_requestPermissions":
        connected = true;
        return { result: [{ parentCapability: "eth_accounts" }], accounts: [account.address] };
      case "wallet_getPermissions":
        return { result: connected ? [{ parentCapability: "eth_accounts" }] : [] };
      case "wallet_revokePermissions":
        connected = false;
        return { result: null };
      case "wallet_switchEthereumChain":
      case "wallet_addEthereumChain":
        return { result: null };
      case "eth_sendTransaction": {
        const [tx] = params as [{ to?: Hex; data?: Hex; value?: Hex; gas?: Hex }];
        try {
          const chainId = Number((await forward("eth_chainId", [])).result);
          const hash = await wallet.sendTransaction({
            chain: { id: chainId, name: "local", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } },
            to: tx.to,
            data: tx.data,
            value: tx.value ? BigInt(tx.value) : undefined,
            gas: tx.gas ? BigInt(tx.gas) : undefined,
          });
          return { result: hash };
        } catch (error) {
          return { error: { code: -32603, message: error instanceof Error ? error.message : String(error) } };
        }
      }
      case "personal_sign": {
        const [message] = params as [Hex];
        return { result: await account.signMessage({ message: { raw: message } }) };
      }
      case "eth_signTypedData_v4": {
        const [, typed] = params as [string, string];
        return { result: await account.signTypedData(JSON.parse(typed)) };
      }
      default:
        return forward(method, params);
    }
  }

  await page.exposeFunction("__tributaryWallet", async (method: string, paramsJson: string) => {
    if (PROMPTING.has(method)) prompts.push(method);
    return JSON.stringify(await handle(method, JSON.parse(paramsJson)));
  });
  await page.addInitScript(PROVIDER_SCRIPT);
  return { account, prompts };
}
