// @vitest-environment node
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DAPP_CONTRACTS, MissingArtifactError, renderContractsModule, writeContractsModule } from "../vite/contracts-plugin.ts";

const repoRoot = resolve(import.meta.dirname, "../..");

describe("contracts plugin", () => {
  it("emits each contract's ABI from its Hardhat artifact and the deployment's addresses", () => {
    const dir = mkdtempSync(join(tmpdir(), "tributary-contracts-"));
    const deploymentFile = join(dir, "local-chain.json");
    const contracts = Object.fromEntries(DAPP_CONTRACTS.map(({ key }, i) => [key, `0x${String(i + 1).padStart(40, "0")}`]));
    writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: "http://127.0.0.1:9545", chainId: 31337, deployer: "0x0", contracts }));
    const outFile = join(dir, "contracts.ts");
    writeContractsModule({ repoRoot, deploymentFile, outFile });
    const source = readFileSync(outFile, "utf8");
    const artifact = JSON.parse(readFileSync(resolve(repoRoot, "artifacts/contracts/datanets/DatanetRegistry.sol/DatanetRegistry.json"), "utf8"));
    expect(source).toContain(`export const datanetRegistryAbi = ${JSON.stringify(artifact.abi)} as const;`);
    for (const { name } of DAPP_CONTRACTS) expect(source).toMatch(new RegExp(`export const ${name[0].toLowerCase()}${name.slice(1)}Abi = \\[`));
    expect(source).toContain('"rpcUrl": "http://127.0.0.1:9545"');
    expect(source).toContain(`"datanets": "${contracts.datanets}"`);
    expect(source).not.toContain("deployer");
  });

  it("emits a null deployment when no chain was deployed, and a clear error without artifacts", () => {
    expect(renderContractsModule({ repoRoot, deploymentFile: "/nonexistent/local-chain.json" })).toContain("} | null = null;");
    expect(() => renderContractsModule({ repoRoot: mkdtempSync(join(tmpdir(), "empty-")) })).toThrow(MissingArtifactError);
  });
});
