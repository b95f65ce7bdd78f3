import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * Adds the three registries to a module, wired to `token`. Shared by the module that deploys the test token
 * and the one that uses an existing ERC-20, so both deploy the protocol the same way.
 *
 * Parameters read from the calling module:
 * governance (default: account 0), minNodeStake, unbondingDelay (seconds), leaseDuration (seconds),
 * defaultOwnerBps / defaultContributorBps / defaultNodeBps (sum 10,000).
 */
export function addRegistries(m: IgnitionModuleBuilder, token: ContractFuture<string>) {
  const governance = m.getParameter("governance", m.getAccount(0));
  const minNodeStake = m.getParameter("minNodeStake", 100n * 10n ** 18n);
  const unbondingDelay = m.getParameter("unbondingDelay", 7n * 24n * 3_600n);
  const leaseDuration = m.getParameter("leaseDuration", 3_600n);
  const defaultSplit = {
    ownerBps: m.getParameter("defaultOwnerBps", 5_000),
    contributorBps: m.getParameter("defaultContributorBps", 4_000),
    nodeBps: m.getParameter("defaultNodeBps", 1_000),
  };

  const datanets = m.contract("DatanetRegistry", [token]);
  const nodes = m.contract("NodeRegistry", [token, governance, minNodeStake, unbondingDelay]);
  const models = m.contract("ModelRegistry", [token, datanets, nodes, governance, leaseDuration, defaultSplit]);

  // SETTLEMENT: the lead wires contracts/settlement/InferenceSettlement.sol here, e.g.
  //   const settlement = m.contract("InferenceSettlement", [token, nodes, models, governance, ...]);
  //   m.call(nodes, "grantRole", [m.staticCall(nodes, "SLASHER_ROLE"), settlement]);
  // (grantRole must be sent by governance: pass `{ from: governance }` when governance is not account 0.)

  return { datanets, nodes, models };
}
