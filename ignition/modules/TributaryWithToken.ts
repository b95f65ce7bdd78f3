import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { Artifact } from "@nomicfoundation/ignition-core";
import { erc20Abi } from "viem";
import { addRegistries } from "./registries.ts";

/**
 * Any standard ERC-20 at a known address. Hardhat 3 emits artifacts only for the project's own contracts, so
 * the interface is described here from viem's ERC-20 ABI instead of OpenZeppelin's IERC20 artifact.
 */
const erc20Artifact: Artifact<typeof erc20Abi> = {
  _format: "hh3-artifact-1",
  contractName: "IERC20",
  sourceName: "@openzeppelin/contracts/token/ERC20/IERC20.sol",
  abi: erc20Abi,
  bytecode: "0x",
  deployedBytecode: "0x",
  linkReferences: {},
  deployedLinkReferences: {},
};

/**
 * The protocol on a network that already has its payment ERC-20 (production): no test token is deployed.
 * Required parameter: paymentToken (address). Other parameters: see registries.ts.
 */
export default buildModule("TributaryWithToken", (m) => {
  const token = m.contractAt("PaymentToken", erc20Artifact, m.getParameter<string>("paymentToken"));
  return { token, ...addRegistries(m, token) };
});
