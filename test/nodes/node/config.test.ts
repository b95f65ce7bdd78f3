import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseEther } from "viem";
import { ConfigError } from "../../../nodes/src/config/errors.ts";
import { loadConfig } from "../../../nodes/src/config/load.ts";

const KEY = `0x${"11".repeat(32)}`;
const ADDRESSES = {
  token: "0x5FbDB2315678afecb367f032d93F642f64180aa3", datanets: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  nodes: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", models: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
  settlement: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
};

async function issuesOf(promise: Promise<unknown>): Promise<Map<string, string>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return new Map(error.issues.map((i) => [i.field, i.message]));
  }
  assert.fail("expected a ConfigError");
}

describe("node config", () => {
  let dir: string;
  let deployment: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tributary-config-"));
    deployment = join(dir, "local-chain.json");
    await writeFile(deployment, JSON.stringify({ rpcUrl: "http://127.0.0.1:8545", chainId: 31337, contracts: ADDRESSES }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("takes flags over environment over file over defaults, and chain settings from the deployment file", async () => {
    const file = join(dir, "node.json");
    await writeFile(file, JSON.stringify({ http: { port: 1111, host: "0.0.0.0" }, confirmations: 5, logLevel: "debug", jobs: { minFee: "2.5" } }));
    const config = await loadConfig({
      cwd: dir, configFile: file,
      env: { TRIBUTARY_HTTP_PORT: "2222", TRIBUTARY_CONFIRMATIONS: "3", TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY, TRIBUTARY_BASE_MODELS: "1=models/a,2=models/b" },
      flags: { "http.port": "3333", "jobs.capabilities": ["training", "serving"] },
    });
    assert.equal(config.http.port, 3333, "flag beats env and file");
    assert.equal(config.confirmations, 3, "env beats file");
    assert.equal(config.http.host, "0.0.0.0", "file beats default");
    assert.equal(config.logLevel, "debug");
    assert.equal(config.pollIntervalMs, 2_000, "default");
    assert.equal(config.jobs.minFee, parseEther("2.5"));
    assert.deepEqual([...config.jobs.baseModels], [[1n, join(dir, "models/a")], [2n, join(dir, "models/b")]]);
    assert.deepEqual(config.jobs.capabilities, ["training", "serving"]);
    assert.equal(config.rpcUrl, "http://127.0.0.1:8545");
    assert.equal(config.chainId, 31337);
    assert.equal(config.contracts.models, ADDRESSES.models);
    assert.deepEqual(config.storage, { kind: "helia" });
    const kubo = await loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY, TRIBUTARY_STORAGE: "kubo+http://127.0.0.1:5001" } });
    assert.deepEqual(kubo.storage, { kind: "kubo", url: "http://127.0.0.1:5001" });
    const explicit = await loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY, TRIBUTARY_RPC_URL: "ws://chain:8546" } });
    assert.equal(explicit.rpcUrl, "ws://chain:8546", "an explicit setting beats the deployment file");
    assert.deepEqual(config.p2p, { listen: ["/ip4/127.0.0.1/tcp/8701"], peers: [] });
    assert.deepEqual(config.http.corsOrigins, ["http://localhost:5173", "http://127.0.0.1:5173"]);
    const peer = "/ip4/10.0.0.2/tcp/8701/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
    const p2p = await loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY, TRIBUTARY_PEERS: peer, TRIBUTARY_P2P_LISTEN: "/ip4/0.0.0.0/tcp/4001" } });
    assert.deepEqual(p2p.p2p, { listen: ["/ip4/0.0.0.0/tcp/4001"], peers: [peer] });
  });

  it("refuses listen addresses, peers and CORS origins it cannot use", async () => {
    const issues = await issuesOf(loadConfig({
      cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY },
      flags: { "p2p.listen": ["tcp:4001"], "p2p.peers": ["/ip4/10.0.0.2/tcp/8701"], "http.corsOrigins": ["http://localhost:5173/app"] },
    }));
    assert.match(issues.get("p2p.listen")!, /"tcp:4001" is not a multiaddr .*; set --p2p-listen/);
    assert.match(issues.get("p2p.peers")!, /"\/ip4\/10\.0\.0\.2\/tcp\/8701" must end with \/p2p\/<peer id>; set --peer/);
    assert.match(issues.get("http.corsOrigins")!, /must be an origin like http:\/\/localhost:5173 .*got "http:\/\/localhost:5173\/app"/);
  });

  it("reports every bad field with what is wrong and how to set it", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ http: { port: "80", prot: 1 }, confirmation: 2 }));
    const issues = await issuesOf(loadConfig({
      cwd: dir, configFile: file,
      env: { TRIBUTARY_RPC_URL: "localhost:8545", TRIBUTARY_MODELS_ADDRESS: "0x123", TRIBUTARY_LOG_LEVEL: "loud", TRIBUTARY_MIN_FEE: "ten", TRIBUTARY_SERVE_MODELS: "all,3" },
      flags: { confirmations: "many", storage: "ipfs://x", "jobs.capabilities": ["flying"] },
    }));
    assert.match(issues.get("rpcUrl")!, /must be an http\(s\):\/\/ or ws\(s\):\/\/ URL, got "localhost:8545"; set --rpc-url, TRIBUTARY_RPC_URL or "rpcUrl" in the config file/);
    assert.match(issues.get("contracts.models")!, /must be a 0x-prefixed 20-byte hex address, got "0x123"/);
    assert.match(issues.get("http.port")!, /must be an integer, got "80"/);
    assert.match(issues.get("http.prot")!, /is not a node setting/);
    assert.match(issues.get("confirmation")!, /is not a node setting/);
    assert.match(issues.get("confirmations")!, /must be an integer, got "many"; set --confirmations/);
    assert.match(issues.get("logLevel")!, /must be one of fatal, error, warn, info, debug, trace, silent/);
    assert.match(issues.get("jobs.minFee")!, /decimal token amount/);
    assert.match(issues.get("storage")!, /must be "helia" or kubo\+http/);
    assert.match(issues.get("jobs.capabilities")!, /each must be one of training, serving, attribution, storage, got "flying"/);
    assert.match(issues.get("serve.models")!, /"all" serves every model the node can; list ids or "all", not both; set --serve, TRIBUTARY_SERVE_MODELS/);
    assert.ok(!issues.has("contracts.contributorPools"), "ContributorPools is read from the Settlement when not configured");
    assert.match(issues.get("contracts.token")!, /is required: pass --deployment <file> \(`npm start` writes \.data\/local-chain\.json\)/);
  });

  it("reads and checks the settlement settings, naming the field", async () => {
    const file = join(dir, "settle.json");
    await writeFile(file, JSON.stringify({ settle: { enabled: "yes", intervalSeconds: 0, minVouchers: 2, watch: true, every: 3, gradientMaxAttempts: 0, gradientRetrySeconds: 1.5 } }));
    const issues = await issuesOf(loadConfig({ cwd: dir, configFile: file, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY } }));
    assert.match(issues.get("settle.enabled")!, /must be true or false, got "yes"; set --settle, TRIBUTARY_SETTLE or "settle.enabled" in the config file/);
    assert.match(issues.get("settle.intervalSeconds")!, /must be an integer between 1 and 604800, got 0; set --settle-interval/);
    assert.match(issues.get("settle.every")!, /is not a node setting/);
    assert.match(issues.get("settle.gradientMaxAttempts")!, /must be an integer between 1 and 1000, got 0; set --settle-gradient-attempts, TRIBUTARY_SETTLE_GRADIENT_ATTEMPTS/);
    assert.match(issues.get("settle.gradientRetrySeconds")!, /must be an integer, got 1.5; set --settle-gradient-backoff/);
    assert.ok(!issues.has("settle.minVouchers") && !issues.has("settle.watch"));
    const flagged = await issuesOf(loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY, TRIBUTARY_SETTLE_WATCH: "maybe" } }));
    assert.match(flagged.get("settle.watch")!, /must be true or false, got "maybe"; set --settle-watch/);

    const defaults = await loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY } });
    assert.deepEqual(defaults.settle, { enabled: true, intervalSeconds: 600, minVouchers: 1, watch: false, gradientMaxAttempts: 12, gradientRetrySeconds: 60 });
    const set = await loadConfig({
      cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_OPERATOR_KEY: KEY, TRIBUTARY_SETTLE: "off", TRIBUTARY_SETTLE_GRADIENT_ATTEMPTS: "3" },
      flags: { "settle.intervalSeconds": "30", "settle.watch": "true", "settle.gradientRetrySeconds": "5" },
    });
    assert.deepEqual(set.settle, { enabled: false, intervalSeconds: 30, minVouchers: 1, watch: true, gradientMaxAttempts: 3, gradientRetrySeconds: 5 });
  });

  it("names unreadable or malformed files", async () => {
    const broken = join(dir, "broken.json");
    await writeFile(broken, "{ nope");
    assert.match((await issuesOf(loadConfig({ cwd: dir, configFile: broken, env: {} }))).get("config")!, /is not valid JSON/);
    assert.match((await issuesOf(loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: "missing.json" } }))).get("deployment")!, /cannot read deployment file .*missing\.json \(ENOENT\)/);
  });

  it("creates the operator key file with mode 0600 and refuses one others can read", async () => {
    const dataDir = join(dir, "data");
    const config = await loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_DATA_DIR: dataDir } });
    const keyFile = join(dataDir, "operator.key");
    assert.equal(config.operatorKeySource, keyFile);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await readFile(keyFile, "utf8")).trim(), config.operatorKey);
    const again = await loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_DATA_DIR: dataDir } });
    assert.equal(again.operatorKey, config.operatorKey, "the same key on the next start");
    await chmod(keyFile, 0o644);
    const issues = await issuesOf(loadConfig({ cwd: dir, env: { TRIBUTARY_DEPLOYMENT: deployment, TRIBUTARY_DATA_DIR: dataDir } }));
    assert.match(issues.get("operatorKey")!, /readable by other users \(mode 644\): run `chmod 600 .*operator\.key`/);
  });
});
