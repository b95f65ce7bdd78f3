/**
 * createDatanetVersionReader against a real `hardhat node` process: the registry deployed from the
 * compiled artifacts (npm test builds them first; otherwise run `npx hardhat build`), a version
 * published, and the verifier's chain check reading it back through viem over JSON-RPC.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { createPublicClient, createWalletClient, encodeAbiParameters, http, keccak256, parseEther, toHex, type Abi, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { findFreePort } from "../../../scripts/deploy/ports.ts";
import { waitForRpc } from "../../../scripts/deploy/wait-for-rpc.ts";
import { createDatanetVersionReader, manifestRoot, verifyRecord, attribute, buildSpanIndex, createFileDataSource, encodeSpanIndex, spanIndexFileName } from "../../../nodes/src/attribution/index.ts";

const root = resolve(import.meta.dirname, "../../..");
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
let chain: ChildProcess;
let rpcUrl: string;

async function artifact(path: string): Promise<{ abi: Abi; bytecode: Hex }> {
  try {
    return JSON.parse(await readFile(join(root, "artifacts/contracts", path), "utf8"));
  } catch (error) {
    throw new Error(`Compiled artifact ${path} is missing: run \`npx hardhat build\` first (npm test does). ${(error as Error).message}`);
  }
}

before(async () => {
  const port = await findFreePort();
  rpcUrl = `http://127.0.0.1:${port}`;
  const hardhatCli = resolve(dirname(createRequire(import.meta.url).resolve("hardhat/package.json")), "dist/src/cli.js");
  chain = spawn(process.execPath, [hardhatCli, "node", "--hostname", "127.0.0.1", "--port", String(port)], { cwd: root, stdio: "ignore" });
  await waitForRpc(rpcUrl, 60_000, () => chain.exitCode === null);
});
after(() => {
  chain?.kill("SIGTERM");
});

describe("Datanet version roots read from a real chain", () => {
  it("reads a published version's root, undefined for an unknown version, and the verifier flags a record naming another root", async () => {
    const account = mnemonicToAccount(HARDHAT_MNEMONIC);
    const wallet = createWalletClient({ account, chain: hardhat, transport: http(rpcUrl) });
    const client = createPublicClient({ chain: hardhat, transport: http(rpcUrl) });
    const deploy = async (path: string, args: unknown[]): Promise<Address> => {
      const { abi, bytecode } = await artifact(path);
      const hash = await wallet.deployContract({ abi, bytecode, args });
      const receipt = await client.waitForTransactionReceipt({ hash });
      return receipt.contractAddress!;
    };
    const token = await deploy("token/TributaryToken.sol/TributaryToken.json", [account.address, parseEther("1000000"), parseEther("100"), 3600n]);
    const registry = await deploy("datanets/DatanetRegistry.sol/DatanetRegistry.json", [token]);
    const { abi } = await artifact("datanets/DatanetRegistry.sol/DatanetRegistry.json");
    const send = async (functionName: string, args: unknown[]) => client.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: registry, abi, functionName, args }) });

    await send("createDatanet", ["bafy-meta", "CC0-1.0", { stake: 0n, maxBytes: 1_000_000, forfeitRejectedStake: false }]);
    const digests = [keccak256(toHex("first")), keccak256(toHex("second"))];
    for (const digest of digests) await send("contribute", [1n, digest, 100n, "bafy-contribution", 0n, false]);
    // contributionId = uint256(keccak256(abi.encode(datanetId, digest, contributor)))
    const ids = digests.map((digest) =>
      BigInt(keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "bytes32" }, { type: "address" }], [1n, digest, account.address]))),
    );
    await send("acceptContributions", [1n, ids]);
    const manifest = { contributions: ids.map((contributionId, i) => ({ contributionId, contributor: account.address, digest: digests[i] })) };
    const versionRoot = manifestRoot(manifest);
    await send("publishVersion", [1n, versionRoot, "bafy-manifest", 2, 2]);

    const reader = createDatanetVersionReader(client, registry);
    assert.equal(await reader.versionRoot(1n, 1), versionRoot);
    assert.equal(await reader.versionRoot(1n, 2), undefined);
    assert.equal(await reader.versionRoot(7n, 1), undefined);

    // A record naming version 1 of Datanet 1 with the published root verifies; one naming a root the registry never published does not.
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "chain-root-"));
    try {
      const documents = ids.map((contributionId, i) => ({ contributionId, tokens: Array.from({ length: 30 }, (_, j) => 10 * i + j) }));
      const otherRoot = keccak256(toHex("a root never published"));
      for (const r of [versionRoot, otherRoot]) await writeFile(join(dir, spanIndexFileName(r)), encodeSpanIndex(buildSpanIndex(r, documents)));
      const source = createFileDataSource({ indexDir: dir });
      const recordFor = (r: Hex) => attribute({
        requestId: "r", model: { id: 1n, cid: "m" }, datanet: { id: 1n, version: 1 }, outputTokens: documents[0].tokens.slice(0, 20), index: buildSpanIndex(r, documents),
      });
      assert.deepEqual((await verifyRecord(recordFor(versionRoot), source, { chain: reader })).discrepancies, []);
      const forged = await verifyRecord(recordFor(otherRoot), source, { chain: reader });
      assert.deepEqual(forged.discrepancies.map((d) => d.code), ["datanet-root"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
