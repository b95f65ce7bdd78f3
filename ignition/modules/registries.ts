import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * Adds the three registries and the settlement contract to a module, wired to `token`. Shared by the module that deploys the test token
 * and the one that uses an existing ERC-20, so both deploy the protocol the same way.
 *
 * Parameters read from the calling module:
 * governance (default: account 0), minNodeStake, unbondingDelay (seconds), leaseDuration (seconds),
 * defaultOwnerBps / defaultContributorBps / defaultNodeBps (sum 10,000); for the Settlement: arbiter (default:
 * account 0), protocolFeeBps, withdrawalDelay, disputeWindow, inferenceTimeout (seconds), challengeBond, slashAmount.
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

  const settlement = m.contract("Settlement", [
    {
      token,
      nodes,
      models,
      governance,
      arbiter: m.getParameter("arbiter", m.getAccount(0)),
      protocolFeeBps: m.getParameter("protocolFeeBps", 250n),
      withdrawalDelay: m.getParameter("withdrawalDelay", 24n * 3_600n),
      disputeWindow: m.getParameter("disputeWindow", 24n * 3_600n),
      inferenceTimeout: m.getParameter("inferenceTimeout", 3_600n),
      challengeBond: m.getParameter("challengeBond", 10n * 10n ** 18n),
      slashAmount: m.getParameter("slashAmount", 50n * 10n ** 18n),
    },
  ]);
  // The Settlement creates its ContributorPools (credit roots, disputes, claims) in its constructor.
  const contributorPools = m.contractAt("ContributorPools", m.staticCall(settlement, "contributorPools"));
  // Upheld disputes slash the node's stake, so the pools contract needs the registry's SLASHER_ROLE.
  // The grant is sent by the deploying account, so it must be the registry's admin (governance): deploy with
  // governance = deployer, then hand the admin roles to a multisig with grantRole + renounceRole.
  m.call(nodes, "grantRole", [m.staticCall(nodes, "SLASHER_ROLE"), contributorPools]);
  // A node with a credit root still open to dispute must not withdraw its stake: the registry asks the pools.
  m.call(nodes, "setStakeLock", [contributorPools]);

  return { datanets, nodes, models, settlement, contributorPools };
}
