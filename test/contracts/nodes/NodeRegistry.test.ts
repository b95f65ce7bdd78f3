import assert from "node:assert/strict";
import { network } from "hardhat";
import { keccak256, parseEther, toHex } from "viem";
import { tokenBalancesHaveChanged } from "../token/tokenBalances.ts";

const { viem, networkHelpers } = await network.create();

const MIN_STAKE = parseEther("100");
const UNBONDING_DELAY = 7n * 24n * 3600n;
const SLASHER_ROLE = keccak256(toHex("SLASHER_ROLE"));
const PEER = "12D3KooWExamplePeer";
const ENDPOINT = "http://127.0.0.1:8080";

async function deployNodes() {
  const [governance, node, other, slasher] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const token = await viem.deployContract("TributaryToken", [governance.account.address, parseEther("1000000"), 0n, 0n]);
  const nodes = await viem.deployContract("NodeRegistry", [token.address, governance.account.address, MIN_STAKE, UNBONDING_DELAY]);
  for (const who of [node, other]) {
    await token.write.transfer([who.account.address, parseEther("1000")]);
    await token.write.approve([nodes.address, parseEther("1000")], { account: who.account });
  }
  await nodes.write.grantRole([SLASHER_ROLE, slasher.account.address]);
  return { governance, node, other, slasher, publicClient, token, nodes };
}

async function registered() {
  const fixture = await deployNodes();
  await fixture.nodes.write.register([PEER, ENDPOINT, 3n, MIN_STAKE], { account: fixture.node.account });
  return fixture;
}

describe("NodeRegistry", () => {
  it("registers a node with its stake and makes it active", async () => {
    const { nodes, token, node } = await networkHelpers.loadFixture(deployNodes);
    await viem.assertions.emitWithArgs(
      nodes.write.register([PEER, ENDPOINT, 3n, MIN_STAKE], { account: node.account }),
      nodes,
      "NodeRegistered",
      [node.account.address, PEER, ENDPOINT, 3n, MIN_STAKE],
    );
    assert.equal(await nodes.read.isActive([node.account.address]), true);
    assert.equal(await nodes.read.stakeOf([node.account.address]), MIN_STAKE);
    const info = await nodes.read.getNode([node.account.address]);
    assert.equal(info.peerId, PEER);
    assert.equal(info.capabilities, 3n);
    assert.equal(await token.read.balanceOf([nodes.address]), MIN_STAKE);
  });

  it("rejects bad registrations", async () => {
    const { nodes, node, other } = await networkHelpers.loadFixture(registered);
    const as = { account: other.account };
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.register([PEER, ENDPOINT, 0n, MIN_STAKE], { account: node.account }), nodes, "NodeAlreadyRegistered", [node.account.address]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.register(["", ENDPOINT, 0n, MIN_STAKE], as), nodes, "EmptyField", ["peerId"]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.register([PEER, "", 0n, MIN_STAKE], as), nodes, "EmptyField", ["endpoint"]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.register([PEER, ENDPOINT, 0n, MIN_STAKE - 1n], as), nodes, "StakeBelowMinimum", [MIN_STAKE - 1n, MIN_STAKE]);
  });

  it("needs a positive stake even when the minimum is zero", async () => {
    const { nodes, other } = await networkHelpers.loadFixture(deployNodes);
    await nodes.write.setMinStake([0n]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.register([PEER, ENDPOINT, 0n, 0n], { account: other.account }), nodes, "StakeBelowMinimum", [0n, 0n]);
  });

  it("adds stake", async () => {
    const { nodes, token, node, other, publicClient } = await networkHelpers.loadFixture(registered);
    await viem.assertions.emitWithArgs(nodes.write.addStake([5n], { account: node.account }), nodes, "StakeAdded", [node.account.address, 5n, MIN_STAKE + 5n]);
    await tokenBalancesHaveChanged(publicClient, token, () => nodes.write.addStake([7n], { account: node.account }), [
      { address: node.account.address, amount: -7n },
      { address: nodes.address, amount: 7n },
    ]);
    await viem.assertions.revertWithCustomError(nodes.write.addStake([0n], { account: node.account }), nodes, "ZeroAmount");
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.addStake([1n], { account: other.account }), nodes, "NodeNotRegistered", [other.account.address]);
  });

  it("unbonds: inactive at once, withdrawable after the delay, then deregistered", async () => {
    const { nodes, token, node, publicClient } = await networkHelpers.loadFixture(registered);
    const as = { account: node.account };
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.withdraw(as), nodes, "NodeNotUnbonding", [node.account.address]);
    const hash = await nodes.write.beginUnbonding(as);
    const block = await publicClient.getBlock({ blockNumber: (await publicClient.waitForTransactionReceipt({ hash })).blockNumber });
    const endsAt = block.timestamp + UNBONDING_DELAY;
    assert.equal(await nodes.read.isActive([node.account.address]), false);
    assert.equal(await nodes.read.stakeOf([node.account.address]), MIN_STAKE);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.beginUnbonding(as), nodes, "NodeUnbonding", [node.account.address, endsAt]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.addStake([1n], as), nodes, "NodeUnbonding", [node.account.address, endsAt]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.withdraw(as), nodes, "UnbondingNotOver", [node.account.address, endsAt]);

    await networkHelpers.time.increaseTo(endsAt);
    await tokenBalancesHaveChanged(publicClient, token, () => nodes.write.withdraw(as), [
      { address: node.account.address, amount: MIN_STAKE },
      { address: nodes.address, amount: -MIN_STAKE },
    ]);
    assert.equal((await nodes.read.getNode([node.account.address])).registered, false);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.withdraw(as), nodes, "NodeNotRegistered", [node.account.address]);
    // A node that left may register again.
    await nodes.write.register([PEER, ENDPOINT, 0n, MIN_STAKE], as);
  });

  it("emits the unbonding end and the withdrawal", async () => {
    const { nodes, node } = await networkHelpers.loadFixture(registered);
    await viem.assertions.emit(nodes.write.beginUnbonding({ account: node.account }), nodes, "UnbondingStarted");
    await networkHelpers.time.increase(UNBONDING_DELAY);
    await viem.assertions.emitWithArgs(nodes.write.withdraw({ account: node.account }), nodes, "StakeWithdrawn", [node.account.address, MIN_STAKE]);
  });

  it("slashes only through SLASHER_ROLE, capped at the stake, unbonding nodes included", async () => {
    const { nodes, token, node, other, slasher, publicClient } = await networkHelpers.loadFixture(registered);
    const as = { account: slasher.account };
    await viem.assertions.revertWithCustomErrorWithArgs(
      nodes.write.slash([node.account.address, 1n, other.account.address], { account: other.account }),
      nodes,
      "AccessControlUnauthorizedAccount",
      [other.account.address, SLASHER_ROLE],
    );
    await viem.assertions.emitWithArgs(nodes.write.slash([node.account.address, 10n, other.account.address], as), nodes, "NodeSlashed", [
      node.account.address, other.account.address, 10n, 10n,
    ]);
    // Below the minimum now: inactive until topped up.
    assert.equal(await nodes.read.isActive([node.account.address]), false);
    await nodes.write.addStake([10n], { account: node.account });
    assert.equal(await nodes.read.isActive([node.account.address]), true);

    await nodes.write.beginUnbonding({ account: node.account });
    await tokenBalancesHaveChanged(publicClient, token, () => nodes.write.slash([node.account.address, MIN_STAKE * 5n, other.account.address], as), [
      { address: other.account.address, amount: MIN_STAKE },
      { address: nodes.address, amount: -MIN_STAKE },
    ]);
    assert.equal(await nodes.read.stakeOf([node.account.address]), 0n);
    await viem.assertions.emitWithArgs(nodes.write.slash([node.account.address, 1n, other.account.address], as), nodes, "NodeSlashed", [
      node.account.address, other.account.address, 1n, 0n,
    ]);
    await networkHelpers.time.increase(UNBONDING_DELAY);
    await viem.assertions.emitWithArgs(nodes.write.withdraw({ account: node.account }), nodes, "StakeWithdrawn", [node.account.address, 0n]);
  });

  it("refuses to slash an unknown node or to burn the slashed stake", async () => {
    const { nodes, node, other, slasher } = await networkHelpers.loadFixture(registered);
    const as = { account: slasher.account };
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.slash([other.account.address, 1n, node.account.address], as), nodes, "NodeNotRegistered", [other.account.address]);
    await viem.assertions.revertWithCustomError(
      nodes.write.slash([node.account.address, 1n, "0x0000000000000000000000000000000000000000"], as), nodes, "ZeroRecipient",
    );
  });

  it("updates endpoint and capabilities", async () => {
    const { nodes, node, other } = await networkHelpers.loadFixture(registered);
    const as = { account: node.account };
    await viem.assertions.emitWithArgs(nodes.write.setEndpoint(["https://node.example"], as), nodes, "EndpointUpdated", [node.account.address, "https://node.example"]);
    await viem.assertions.emitWithArgs(nodes.write.setCapabilities([8n], as), nodes, "CapabilitiesUpdated", [node.account.address, 8n]);
    const info = await nodes.read.getNode([node.account.address]);
    assert.equal(info.endpoint, "https://node.example");
    assert.equal(info.capabilities, 8n);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.setEndpoint([""], as), nodes, "EmptyField", ["endpoint"]);
    await viem.assertions.revertWithCustomErrorWithArgs(nodes.write.setCapabilities([1n], { account: other.account }), nodes, "NodeNotRegistered", [other.account.address]);
  });

  it("lets only governance change the minimum stake, which can deactivate nodes", async () => {
    const { nodes, node } = await networkHelpers.loadFixture(registered);
    await viem.assertions.emitWithArgs(nodes.write.setMinStake([MIN_STAKE + 1n]), nodes, "MinStakeUpdated", [MIN_STAKE + 1n]);
    assert.equal(await nodes.read.isActive([node.account.address]), false);
    await viem.assertions.revertWithCustomError(nodes.write.setMinStake([1n], { account: node.account }), nodes, "AccessControlUnauthorizedAccount");
  });

  it("lets only governance set the stake lock, which withdrawals ask first", async () => {
    const { nodes, node, other } = await networkHelpers.loadFixture(registered);
    await viem.assertions.revertWithCustomError(nodes.write.setStakeLock([other.account.address], { account: node.account }), nodes, "AccessControlUnauthorizedAccount");
    assert.equal(await nodes.read.stakeLock(), "0x0000000000000000000000000000000000000000");
    // The real lock (the Settlement) is exercised in test/contracts/settlement/attacks.test.ts.
  });
});
