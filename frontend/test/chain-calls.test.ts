import { describe, expect, it, vi } from "vitest";

// The calls read addresses from the deployment; give them one whatever .data/ holds.
vi.mock("../src/chain/generated/contracts.ts", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  deployment: (await import("./fake-deployment.ts")).fakeDeployment,
}));

const { contributeCall, decideCall, publishVersionCall } = await import("../src/chain/datanets.ts");
const { datanetRegistryAbi } = await import("../src/chain/generated/contracts.ts");
const { buildVersion } = await import("../src/lib/merkle.ts");
import { encodeFunctionData, type Abi } from "viem";

describe("DatanetRegistry calls", () => {
  it("builds contribute's arguments for the registry's current ABI, consent included when it asks for it", () => {
    const policy = { stake: 5n, maxBytes: 100, forfeitRejectedStake: true };
    const call = contributeCall(1n, { digest: `0x${"ab".repeat(32)}`, byteSize: 10, metadataCid: "bafm" }, policy, true);
    expect(call.address).toBe("0x0000000000000000000000000000000000000002");
    const fn = (datanetRegistryAbi as Abi).find((i) => i.type === "function" && i.name === "contribute");
    expect(fn?.type === "function" && call.args.length).toBe(fn?.type === "function" ? fn.inputs.length : -1);
    // The arguments encode against the ABI: a mismatch throws here rather than in a user's wallet.
    expect(() => encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args })).not.toThrow();
  });

  it("labels batches and encodes publishVersion from a draft", () => {
    expect(decideCall(1n, [1n, 2n], true).label).toBe("Accept 2 contributions");
    expect(decideCall(1n, [1n], false).label).toBe("Reject 1 contribution");
    const draft = buildVersion([{ contributionId: 9n, contributor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", digest: `0x${"cd".repeat(32)}`, number: 4 }]);
    const call = publishVersionCall(1n, draft, "bafmanifest");
    expect(call.args).toEqual([1n, draft.root, "bafmanifest", 1, 4]);
    expect(() => encodeFunctionData({ abi: call.abi, functionName: call.functionName, args: call.args })).not.toThrow();
  });
});
