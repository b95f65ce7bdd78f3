/**
 * Every node setting in one table: its path in the JSON config file, its environment variable, its command-line
 * flag, how a string from the environment or a flag is read, how a value is checked, and its default. Loading,
 * the `start` command's options and the error messages are all generated from this table.
 */
import { multiaddr } from "@multiformats/multiaddr";
import { isAddress } from "viem";

export type FieldKind = "string" | "integer" | "boolean" | "list" | "map";

export interface FieldSpec {
  /** Dotted path in the config file and in error messages. */
  path: string;
  env: string;
  /** Long flag name without the dashes. */
  flag: string;
  /** Flag value placeholder for help text. */
  arg: string;
  kind: FieldKind;
  description: string;
  /** Returns an error message when the value is unusable (already of the right kind). */
  check?: (value: never) => string | undefined;
  default?: unknown;
}

const URL_SCHEMES = ["http:", "https:", "ws:", "wss:"];
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
export const CAPABILITIES = ["training", "serving", "attribution", "storage"] as const;

function checkAddress(value: string): string | undefined {
  return isAddress(value, { strict: false }) ? undefined : `must be a 0x-prefixed 20-byte hex address, got "${value}"`;
}

function checkMultiaddrs(requirePeerId: boolean) {
  return (value: string[]): string | undefined => {
    for (const text of value) {
      try {
        const address = multiaddr(text);
        if (requirePeerId && address.getComponents().at(-1)?.name !== "p2p") return `"${text}" must end with /p2p/<peer id>`;
      } catch (error) {
        return `"${text}" is not a multiaddr (${(error as Error).message})`;
      }
    }
    return undefined;
  };
}

function checkOrigins(value: string[]): string | undefined {
  for (const origin of value) {
    if (origin === "*") continue;
    try {
      const url = new URL(origin);
      if ((url.protocol === "http:" || url.protocol === "https:") && url.origin === origin) continue;
    } catch {
      // reported below
    }
    return `each must be an origin like http://localhost:5173 (scheme, host, port; no path) or *, got "${origin}"`;
  }
  return undefined;
}

function range(min: number, max: number) {
  return (value: number): string | undefined =>
    value >= min && value <= max ? undefined : `must be an integer between ${min} and ${max}, got ${value}`;
}

function contract(key: string, name: string, defaultIs = "from the deployment file"): FieldSpec {
  const words = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return {
    path: `contracts.${key}`, env: `TRIBUTARY_${words.replaceAll("-", "_").toUpperCase()}_ADDRESS`, flag: `${words}-address`, arg: "address", kind: "string",
    description: `${name} address (default: ${defaultIs})`, check: checkAddress,
  };
}

export const FIELDS: readonly FieldSpec[] = [
  {
    path: "rpcUrl", env: "TRIBUTARY_RPC_URL", flag: "rpc-url", arg: "url", kind: "string",
    description: "JSON-RPC endpoint of the chain (default: from the deployment file)",
    check: (value: string) => {
      try {
        return URL_SCHEMES.includes(new URL(value).protocol) ? undefined : `must be an http(s):// or ws(s):// URL, got "${value}"`;
      } catch {
        return `must be an http(s):// or ws(s):// URL, got "${value}"`;
      }
    },
  },
  {
    path: "chainId", env: "TRIBUTARY_CHAIN_ID", flag: "chain-id", arg: "id", kind: "integer",
    description: "chain id the RPC must report (default: from the deployment file)", check: range(1, 2 ** 53 - 1),
  },
  {
    path: "deployment", env: "TRIBUTARY_DEPLOYMENT", flag: "deployment", arg: "file", kind: "string",
    description: "deployment file with rpcUrl, chainId and contract addresses (npm start writes .data/local-chain.json)",
  },
  contract("token", "TributaryToken"),
  contract("datanets", "DatanetRegistry"),
  contract("nodes", "NodeRegistry"),
  contract("models", "ModelRegistry"),
  contract("settlement", "Settlement"),
  contract("contributorPools", "ContributorPools", "from the deployment file, else read from Settlement.contributorPools()"),
  {
    path: "dataDir", env: "TRIBUTARY_DATA_DIR", flag: "data-dir", arg: "dir", kind: "string",
    description: "where the node keeps its database, key and artifacts", default: ".data/node",
  },
  {
    path: "http.host", env: "TRIBUTARY_HTTP_HOST", flag: "host", arg: "host", kind: "string",
    description: "address the HTTP API binds", default: "127.0.0.1",
  },
  {
    path: "http.port", env: "TRIBUTARY_HTTP_PORT", flag: "port", arg: "port", kind: "integer",
    description: "HTTP API port (0: any free port)", default: 8700, check: range(0, 65_535),
  },
  {
    path: "http.corsOrigins", env: "TRIBUTARY_CORS_ORIGINS", flag: "cors-origin", arg: "origin", kind: "list",
    description: "browser origins allowed to call the API (the dApp's; repeatable)", default: ["http://localhost:5173", "http://127.0.0.1:5173"],
    check: checkOrigins,
  },
  {
    path: "p2p.listen", env: "TRIBUTARY_P2P_LISTEN", flag: "p2p-listen", arg: "multiaddr", kind: "list",
    description: "libp2p listen addresses of the embedded IPFS node (fixed, so peers can dial it; repeatable)", default: ["/ip4/127.0.0.1/tcp/8701"],
    check: checkMultiaddrs(false),
  },
  {
    path: "p2p.peers", env: "TRIBUTARY_PEERS", flag: "peer", arg: "multiaddr", kind: "list",
    description: "peers to connect to at start, as /ip4/.../tcp/.../p2p/<peer id> (repeatable)", default: [],
    check: checkMultiaddrs(true),
  },
  {
    path: "operatorKey", env: "TRIBUTARY_OPERATOR_KEY", flag: "operator-key", arg: "hex",
    kind: "string", description: "operator private key (default: <dataDir>/operator.key, created if absent)",
    check: (value: string) => (/^0x[0-9a-fA-F]{64}$/.test(value) ? undefined : "must be a 0x-prefixed 32-byte hex private key"),
  },
  {
    path: "confirmations", env: "TRIBUTARY_CONFIRMATIONS", flag: "confirmations", arg: "n", kind: "integer",
    description: "blocks on top of an event before the node acts on it", default: 2, check: range(0, 1_000),
  },
  {
    path: "pollIntervalMs", env: "TRIBUTARY_POLL_INTERVAL_MS", flag: "poll-interval", arg: "ms", kind: "integer",
    description: "how often the chain is polled for new blocks", default: 2_000, check: range(10, 3_600_000),
  },
  {
    path: "maxBlockRange", env: "TRIBUTARY_MAX_BLOCK_RANGE", flag: "max-block-range", arg: "n", kind: "integer",
    description: "most blocks per eth_getLogs request while backfilling", default: 2_000, check: range(1, 1_000_000),
  },
  {
    path: "startBlock", env: "TRIBUTARY_START_BLOCK", flag: "start-block", arg: "n", kind: "integer",
    description: "first block to follow on a fresh database (the deployment block)", default: 0, check: range(0, 2 ** 53 - 1),
  },
  {
    path: "storage", env: "TRIBUTARY_STORAGE", flag: "storage", arg: "url", kind: "string",
    description: "artifact storage: \"helia\" (embedded IPFS) or kubo+http://host:5001 (an external Kubo)", default: "helia",
    check: (value: string) => (value === "helia" || /^kubo\+https?:\/\/.+/.test(value)
      ? undefined
      : `must be "helia" or kubo+http(s)://host:port, got "${value}"`),
  },
  {
    path: "logLevel", env: "TRIBUTARY_LOG_LEVEL", flag: "log-level", arg: "level", kind: "string",
    description: `log level (${LOG_LEVELS.join(", ")})`, default: "info",
    check: (value: string) => (LOG_LEVELS.includes(value) ? undefined : `must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`),
  },
  {
    path: "jobs.minFee", env: "TRIBUTARY_MIN_FEE", flag: "min-fee", arg: "tokens", kind: "string",
    description: "smallest training-job fee the node takes, in tokens (decimal)", default: "0",
    check: (value: string) => (/^\d+(\.\d{1,18})?$/.test(value) ? undefined : `must be a decimal token amount like "10" or "2.5", got "${value}"`),
  },
  {
    path: "jobs.baseModels", env: "TRIBUTARY_BASE_MODELS", flag: "base-model", arg: "id=dir", kind: "map",
    description: "base models held: on-chain base model id = local model folder (repeatable)", default: {},
    check: (value: Record<string, string>) => {
      const bad = Object.keys(value).find((id) => !/^[1-9]\d*$/.test(id));
      return bad === undefined ? undefined : `keys must be on-chain base model ids (1, 2, ...), got "${bad}"`;
    },
  },
  {
    path: "jobs.capabilities", env: "TRIBUTARY_CAPABILITIES", flag: "capability", arg: "name", kind: "list",
    description: `what this node does (${CAPABILITIES.join(", ")}; repeatable)`, default: ["training"],
    check: (value: string[]) => {
      const bad = value.find((c) => !(CAPABILITIES as readonly string[]).includes(c));
      return bad === undefined ? undefined : `each must be one of ${CAPABILITIES.join(", ")}, got "${bad}"`;
    },
  },
  {
    path: "serve.models", env: "TRIBUTARY_SERVE_MODELS", flag: "serve", arg: "model-id|all", kind: "list",
    description: "models to serve over the OpenAI-compatible API (ModelRegistry ids, or \"all\": every deployed model whose base model this node holds; repeatable; default: none)",
    default: [],
    check: (value: string[]) => {
      const bad = value.find((m) => m !== "all" && !/^[1-9]\d*$/.test(m));
      if (bad !== undefined) return `each must be a model id (1, 2, ...) or "all", got "${bad}"`;
      return value.includes("all") && value.length > 1 ? `"all" serves every model the node can; list ids or "all", not both` : undefined;
    },
  },
  {
    path: "settle.enabled", env: "TRIBUTARY_SETTLE", flag: "settle", arg: "true|false", kind: "boolean",
    description: "settle what the node serves on-chain (redeem vouchers, propose credit roots) while serving", default: true,
  },
  {
    path: "settle.intervalSeconds", env: "TRIBUTARY_SETTLE_INTERVAL", flag: "settle-interval", arg: "seconds", kind: "integer",
    description: "seconds between settlement rounds (a round also runs at start)", default: 600, check: range(1, 7 * 86_400),
  },
  {
    path: "settle.minVouchers", env: "TRIBUTARY_SETTLE_MIN_VOUCHERS", flag: "settle-min-vouchers", arg: "n", kind: "integer",
    description: "redeem once this many (payer, model) channels hold a voucher newer than what the chain redeemed", default: 1, check: range(1, 10_000),
  },
  {
    path: "settle.gradientMaxAttempts", env: "TRIBUTARY_SETTLE_GRADIENT_ATTEMPTS", flag: "settle-gradient-attempts", arg: "n", kind: "integer",
    description: "attempts in all (the one at serving time included) at the gradient part of a record held out of settlement because it failed; after the last, the record is given up (stays held, logged)",
    default: 12, check: range(1, 1_000),
  },
  {
    path: "settle.gradientRetrySeconds", env: "TRIBUTARY_SETTLE_GRADIENT_BACKOFF", flag: "settle-gradient-backoff", arg: "seconds", kind: "integer",
    description: "delay before a failed gradient part is first tried again, doubling after each failure (up to a day); retries run at the start of settlement rounds",
    default: 60, check: range(1, 86_400),
  },
  {
    path: "settle.watch", env: "TRIBUTARY_SETTLE_WATCH", flag: "settle-watch", arg: "true|false", kind: "boolean",
    description: "also recompute every node's credit roots each round and challenge bad ones (bond from the operator's account)", default: false,
  },
  {
    path: "extensions", env: "TRIBUTARY_EXTENSIONS", flag: "extension", arg: "module", kind: "list",
    description: "module files whose default export extends the node (phases, routes; repeatable)", default: [],
  },
];

/** Reads a string from the environment or a flag as the field's kind; throws a message on failure. */
export function parseFieldString(spec: FieldSpec, text: string): unknown {
  switch (spec.kind) {
    case "string":
      return text;
    case "integer": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isSafeInteger(n)) throw new Error(`must be an integer, got "${text}"`);
      return n;
    }
    case "boolean": {
      const word = text.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(word)) return true;
      if (["false", "0", "no", "off"].includes(word)) return false;
      throw new Error(`must be true or false, got "${text}"`);
    }
    case "list":
      return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
    case "map": {
      const map: Record<string, string> = {};
      for (const entry of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
        const eq = entry.indexOf("=");
        if (eq <= 0 || eq === entry.length - 1) throw new Error(`entries must look like key=value, got "${entry}"`);
        map[entry.slice(0, eq)] = entry.slice(eq + 1);
      }
      return map;
    }
  }
}

/** Whether `value` (from a JSON file) has the field's kind; the message when it does not. */
export function kindMismatch(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case "string":
      return typeof value === "string" ? undefined : `must be a string, got ${JSON.stringify(value)}`;
    case "integer":
      return Number.isSafeInteger(value) ? undefined : `must be an integer, got ${JSON.stringify(value)}`;
    case "boolean":
      return typeof value === "boolean" ? undefined : `must be true or false, got ${JSON.stringify(value)}`;
    case "list":
      return Array.isArray(value) && value.every((v) => typeof v === "string") ? undefined : `must be an array of strings, got ${JSON.stringify(value)}`;
    case "map":
      return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string")
        ? undefined
        : `must be an object of strings, got ${JSON.stringify(value)}`;
  }
}

/** How to set a field, for error messages. */
export function howToSet(spec: FieldSpec): string {
  return `set --${spec.flag}, ${spec.env} or "${spec.path}" in the config file`;
}

/** NodeRegistry's capabilities bitmask: bit i is CAPABILITIES[i]. */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = (CAPABILITIES as readonly string[]).indexOf(name);
    if (bit < 0) throw new Error(`unknown capability "${name}"; use ${CAPABILITIES.join(", ")}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export function capabilityNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}
