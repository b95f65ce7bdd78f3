/**
 * Builds the node's configuration from command-line flags, TRIBUTARY_* environment variables, a JSON config
 * file and defaults, in that order of precedence. A deployment file (what `npm start` writes to
 * .data/local-chain.json) fills the RPC URL, chain id and contract addresses that none of those set.
 * Every problem is collected and reported together, each naming its field and how to set it.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseUnits, type Address, type Hex } from "viem";
import { CONFIGURED_CONTRACT_KEYS, CONTRACT_KEYS, type ConfiguredAddresses } from "../chain/contracts.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { FIELDS, howToSet, kindMismatch, parseFieldString, type FieldSpec } from "./fields.ts";
import { readOrCreateKeyFile } from "./operator-key.ts";

export type StorageSetting = { kind: "helia" } | { kind: "kubo"; url: string };

export interface NodeConfig {
  rpcUrl: string;
  chainId: number;
  /** As configured: a derived contract (ContributorPools) may be absent; resolveProtocolAddresses fills it. */
  contracts: ConfiguredAddresses;
  /** The deployment file the addresses came from, when one was used. */
  deploymentFile: string | undefined;
  dataDir: string;
  http: { host: string; port: number; corsOrigins: readonly string[] };
  /** The embedded libp2p node (Helia only): listen addresses and peers dialed at start. */
  p2p: { listen: readonly string[]; peers: readonly string[] };
  operatorKey: Hex;
  /** Where the key came from: "config" or the key file's path. */
  operatorKeySource: string;
  confirmations: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  startBlock: bigint;
  storage: StorageSetting;
  logLevel: string;
  jobs: {
    /** Smallest fee taken, in token base units. */
    minFee: bigint;
    /** On-chain base model id → local model folder. */
    baseModels: ReadonlyMap<bigint, string>;
    capabilities: readonly string[];
  };
  /** Serving: which models (ids, or "all" the node's base models allow); absent or empty, the node does not serve. */
  serve?: { models: readonly string[] };
  /**
   * Settlement of what the node serves (runs only while it serves): rounds every `intervalSeconds`, and the batch
   * watcher; a record held out for a failed gradient part is retried at the start of rounds, first after
   * `gradientRetrySeconds` (doubling), `gradientMaxAttempts` times in all.
   */
  settle?: { enabled: boolean; intervalSeconds: number; minVouchers: number; watch: boolean; gradientMaxAttempts: number; gradientRetrySeconds: number };
  /** Absolute paths of extension modules to load at start. */
  extensions: readonly string[];
}

export interface ConfigSources {
  /** Flag values keyed by field path (strings as typed; repeatable flags as arrays). */
  flags?: Readonly<Record<string, string | readonly string[] | undefined>>;
  env?: Readonly<Record<string, string | undefined>>;
  /** The JSON config file (--config or TRIBUTARY_CONFIG). */
  configFile?: string;
  /** Relative paths resolve against this (default: the process's working directory). */
  cwd?: string;
  /** Create <dataDir>/operator.key when no key is configured (default true). */
  createKeyFile?: boolean;
}

export const DEFAULT_DEPLOYMENT_FILE = ".data/local-chain.json";
const TOKEN_DECIMALS = 18;

function getPath(object: Record<string, unknown>, path: string): unknown {
  let value: unknown = object;
  for (const part of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** File keys that are not settings: a typo must not be silently ignored. */
function unknownKeys(object: Record<string, unknown>, prefix = ""): string[] {
  const known = new Set(FIELDS.map((f) => f.path));
  const groups = new Set(FIELDS.map((f) => f.path.split(".")[0]).filter((_, i) => FIELDS[i].path.includes(".")));
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    const path = prefix + key;
    if (known.has(path)) continue;
    if (groups.has(path) && typeof value === "object" && value !== null && !Array.isArray(value)) {
      unknown.push(...unknownKeys(value as Record<string, unknown>, `${path}.`));
    } else {
      unknown.push(path);
    }
  }
  return unknown;
}

async function readJsonFile(path: string, field: string, issues: ConfigIssue[], what: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    issues.push({ field, message: `cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path` });
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    issues.push({ field, message: `${path} must hold a JSON object` });
  } catch (error) {
    issues.push({ field, message: `${path} is not valid JSON: ${(error as Error).message}` });
  }
  return undefined;
}

export async function loadConfig(sources: ConfigSources = {}): Promise<NodeConfig> {
  const cwd = sources.cwd ?? process.cwd();
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const issues: ConfigIssue[] = [];

  const configPath = sources.configFile ?? env.TRIBUTARY_CONFIG;
  let file: Record<string, unknown> = {};
  if (configPath !== undefined && configPath !== "") {
    file = (await readJsonFile(resolve(cwd, configPath), "config", issues, "config file")) ?? {};
    for (const key of unknownKeys(file)) issues.push({ field: key, message: `is not a node setting (in ${configPath}); remove it or fix its name` });
  }

  // Flags, then the environment, then the file; each read as its field's kind and checked.
  const values = new Map<string, unknown>();
  for (const spec of FIELDS) {
    let value: unknown;
    const flag = flags[spec.path];
    const envText = env[spec.env];
    try {
      if (flag !== undefined) {
        value = Array.isArray(flag) ? fromRepeatedFlag(spec, flag) : parseFieldString(spec, flag as string);
      } else if (envText !== undefined && envText !== "") {
        value = parseFieldString(spec, envText);
      } else {
        value = getPath(file, spec.path);
        if (value !== undefined) {
          const mismatch = kindMismatch(spec, value);
          if (mismatch) throw new Error(mismatch);
        }
      }
    } catch (error) {
      issues.push({ field: spec.path, message: `${(error as Error).message}; ${howToSet(spec)}` });
      continue;
    }
    if (value === undefined) value = spec.default;
    if (value === undefined) continue;
    const problem = spec.check?.(value as never);
    if (problem) {
      issues.push({ field: spec.path, message: `${problem}; ${howToSet(spec)}` });
      continue;
    }
    values.set(spec.path, value);
  }

  // The deployment file fills the chain settings nothing else gave.
  let deploymentFile = values.get("deployment") as string | undefined;
  if (deploymentFile === undefined && existsSync(resolve(cwd, DEFAULT_DEPLOYMENT_FILE))) deploymentFile = DEFAULT_DEPLOYMENT_FILE;
  if (deploymentFile !== undefined) {
    deploymentFile = resolve(cwd, deploymentFile);
    const deployment = await readJsonFile(deploymentFile, "deployment", issues, "deployment file");
    if (deployment) {
      const fallbacks: Record<string, unknown> = { rpcUrl: deployment.rpcUrl, chainId: deployment.chainId };
      const contracts = (deployment.contracts ?? {}) as Record<string, unknown>;
      for (const key of CONTRACT_KEYS) fallbacks[`contracts.${key}`] = contracts[key];
      for (const [path, value] of Object.entries(fallbacks)) {
        if (values.has(path) || value === undefined) continue;
        const spec = FIELDS.find((f) => f.path === path)!;
        const problem = kindMismatch(spec, value) ?? spec.check?.(value as never);
        if (problem) issues.push({ field: path, message: `${problem} (in ${deploymentFile}); fix the deployment file or ${howToSet(spec)}` });
        else values.set(path, value);
      }
    }
  }
  for (const path of ["rpcUrl", "chainId", ...CONFIGURED_CONTRACT_KEYS.map((k) => `contracts.${k}`)]) {
    if (values.has(path) || issues.some((i) => i.field === path)) continue;
    const spec = FIELDS.find((f) => f.path === path)!;
    issues.push({
      field: path,
      message: `is required: pass --deployment <file> (\`npm start\` writes ${DEFAULT_DEPLOYMENT_FILE}) or ${howToSet(spec)}`,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const dataDir = resolve(cwd, values.get("dataDir") as string);
  let operatorKey = values.get("operatorKey") as Hex | undefined;
  let operatorKeySource = "config";
  if (operatorKey === undefined) {
    const keyFile = resolve(dataDir, "operator.key");
    if (sources.createKeyFile === false && !existsSync(keyFile)) {
      throw new ConfigError([{ field: "operatorKey", message: `no key configured and ${keyFile} does not exist; run \`tributary-node start\` once or ${howToSet(FIELDS.find((f) => f.path === "operatorKey")!)}` }]);
    }
    const result = await readOrCreateKeyFile(keyFile);
    if (!result.ok) throw new ConfigError([{ field: "operatorKey", message: result.message }]);
    operatorKey = result.key;
    operatorKeySource = keyFile;
  }

  const storage = values.get("storage") as string;
  const baseModels = new Map<bigint, string>();
  for (const [id, dir] of Object.entries(values.get("jobs.baseModels") as Record<string, string>)) baseModels.set(BigInt(id), resolve(cwd, dir));
  return {
    rpcUrl: values.get("rpcUrl") as string,
    chainId: values.get("chainId") as number,
    contracts: Object.fromEntries(CONTRACT_KEYS.filter((k) => values.has(`contracts.${k}`)).map((k) => [k, values.get(`contracts.${k}`) as Address])) as unknown as ConfiguredAddresses,
    deploymentFile,
    dataDir,
    http: { host: values.get("http.host") as string, port: values.get("http.port") as number, corsOrigins: values.get("http.corsOrigins") as string[] },
    p2p: { listen: values.get("p2p.listen") as string[], peers: values.get("p2p.peers") as string[] },
    operatorKey,
    operatorKeySource,
    confirmations: values.get("confirmations") as number,
    pollIntervalMs: values.get("pollIntervalMs") as number,
    maxBlockRange: values.get("maxBlockRange") as number,
    startBlock: BigInt(values.get("startBlock") as number),
    storage: storage === "helia" ? { kind: "helia" } : { kind: "kubo", url: storage.slice("kubo+".length) },
    logLevel: values.get("logLevel") as string,
    jobs: {
      minFee: parseUnits(values.get("jobs.minFee") as string, TOKEN_DECIMALS),
      baseModels,
      capabilities: values.get("jobs.capabilities") as string[],
    },
    serve: { models: values.get("serve.models") as string[] },
    settle: {
      enabled: values.get("settle.enabled") as boolean, intervalSeconds: values.get("settle.intervalSeconds") as number,
      minVouchers: values.get("settle.minVouchers") as number, watch: values.get("settle.watch") as boolean,
      gradientMaxAttempts: values.get("settle.gradientMaxAttempts") as number, gradientRetrySeconds: values.get("settle.gradientRetrySeconds") as number,
    },
    extensions: (values.get("extensions") as string[]).map((p) => resolve(cwd, p)),
  };
}

/** A repeatable flag: each occurrence is one list item or one key=value entry. */
function fromRepeatedFlag(spec: FieldSpec, occurrences: readonly string[]): unknown {
  if (spec.kind === "list") return occurrences.flatMap((o) => parseFieldString(spec, o) as string[]);
  if (spec.kind === "map") return Object.assign({}, ...occurrences.map((o) => parseFieldString(spec, o)));
  return parseFieldString(spec, occurrences[occurrences.length - 1]);
}
