import { BaseError, ContractFunctionRevertedError, encodeErrorResult, UserRejectedRequestError, type Abi } from "viem";
import { describe, expect, it } from "vitest";
import { decodeRevert, describeError, errorsOf, revertDataOf, tributaryErrorsAbi } from "../src/chain/errors.ts";
import { datanetRegistryAbi, tributaryTokenAbi } from "../src/chain/generated/contracts.ts";

const alice = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("decodeRevert", () => {
  it("describes a registry error with its arguments", () => {
    const data = encodeErrorResult({ abi: datanetRegistryAbi, errorName: "NotCurator", args: [7n, alice] });
    const decoded = decodeRevert(data);
    expect(decoded?.errorName).toBe("NotCurator");
    expect(decoded?.args).toEqual({ datanetId: 7n, account: alice });
    expect(decoded?.message).toBe("0x7099…79C8 is not the owner or a curator of Datanet 7.");
  });

  it("decodes the token's errors too, since a registry call can revert with them", () => {
    const data = encodeErrorResult({ abi: tributaryTokenAbi, errorName: "ERC20InsufficientAllowance", args: [alice, 0n, 10n ** 18n] });
    expect(decodeRevert(data)?.message).toBe("The contract may spend only 0 TRIB of your tokens but needs 1 TRIB: approve it first.");
  });

  it("words an error it has no phrase for from its name and named arguments", () => {
    const data = encodeErrorResult({ abi: datanetRegistryAbi, errorName: "VersionExceedsAccepted", args: [3n, 5, 2] });
    expect(decodeRevert(data)?.message).toBe("Version exceeds accepted (datanetId 3, contributionCount 5, acceptedCount 2).");
  });

  it("decodes Error(string) and answers undefined for an unknown selector", () => {
    const abi = [{ type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] }] as const;
    expect(decodeRevert(encodeErrorResult({ abi, errorName: "Error", args: ["nope"] }))?.message).toBe("The contract refused: nope");
    expect(decodeRevert("0xdeadbeef")).toBeUndefined();
  });

  it("lists each error of the ABIs once", () => {
    const names = tributaryErrorsAbi.map((e) => `${e.name}(${e.inputs.map((i) => i.type)})`);
    expect(new Set(names).size).toBe(names.length);
    expect(errorsOf([datanetRegistryAbi as Abi, datanetRegistryAbi as Abi]).length).toBe(errorsOf([datanetRegistryAbi as Abi]).length);
  });
});

describe("describeError", () => {
  it("finds the revert data inside viem's error chain", () => {
    const data = encodeErrorResult({ abi: tributaryTokenAbi, errorName: "FaucetDisabled" });
    const reverted = new ContractFunctionRevertedError({ abi: tributaryTokenAbi as Abi, data, functionName: "drip" });
    const wrapped = new BaseError("Execution reverted", { cause: reverted });
    expect(revertDataOf(wrapped)).toBe(data);
    expect(describeError(wrapped)).toBe("The faucet is turned off on this chain.");
  });

  it("says when the user rejected the request", () => {
    const rejected = new UserRejectedRequestError(new Error("User denied"));
    expect(describeError(new BaseError("failed", { cause: rejected }))).toBe("You rejected the request in your wallet.");
  });

  it("passes plain errors' messages through", () => {
    expect(describeError(new Error("The node at x did not answer"))).toBe("The node at x did not answer");
  });
});
