import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ContractFunctionExecutionError, ContractFunctionRevertedError, keccak256, toHex, type Address } from "viem";
import { createDatanetVersionReader, VERSION_ROOT_ABI } from "../../../nodes/src/attribution/index.ts";

const REGISTRY: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const ROOT = keccak256(toHex("version 1"));

/** Unit test with an injected readContract (a real-chain run is in the report's "not done" list). */
function client(calls: unknown[]) {
  return {
    readContract: (async (request: { address: Address; functionName: string; args: readonly [bigint, number] }) => {
      calls.push(request);
      const [datanetId, version] = request.args;
      if (datanetId === 1n && version === 1) return [ROOT.toUpperCase().replace("0X", "0x"), "bafymanifest"];
      if (datanetId === 9n) throw new Error("connection refused");
      throw new ContractFunctionExecutionError(
        new ContractFunctionRevertedError({ abi: VERSION_ROOT_ABI, functionName: "versionRoot", message: "UnknownVersion" }),
        { abi: VERSION_ROOT_ABI, functionName: "versionRoot", args: request.args, contractAddress: REGISTRY },
      );
    }) as never,
  };
}

describe("Datanet version roots from the registry", () => {
  it("reads versionRoot(datanetId, version) from the registry, lower-cased, once per version", async () => {
    const calls: { address: Address; functionName: string }[] = [];
    const reader = createDatanetVersionReader(client(calls), REGISTRY);
    assert.equal(await reader.versionRoot(1n, 1), ROOT);
    assert.equal(await reader.versionRoot(1n, 1), ROOT);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].address, REGISTRY);
    assert.equal(calls[0].functionName, "versionRoot");
  });

  it("answers undefined for a version the registry reverts on, and passes other failures through", async () => {
    const reader = createDatanetVersionReader(client([]), REGISTRY);
    assert.equal(await reader.versionRoot(1n, 7), undefined);
    await assert.rejects(reader.versionRoot(9n, 1), /connection refused/);
  });
});
