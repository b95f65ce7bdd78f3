import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress } from "viem";
import TributaryModule from "../../../ignition/modules/Tributary.ts";
import TributaryWithTokenModule from "../../../ignition/modules/TributaryWithToken.ts";

const { ignition, viem } = await network.create();

describe("Ignition modules", () => {
  it("deploys the whole protocol wired together, with the module parameters", async () => {
    const [governance] = await viem.getWalletClients();
    const { token, datanets, nodes, models, settlement } = await ignition.deploy(TributaryModule, {
      parameters: { Tributary: { leaseDuration: 600n, minNodeStake: 5n }, TributaryToken: { faucetAmount: 7n } },
    });
    assert.equal(getAddress(await datanets.read.paymentToken()), getAddress(token.address));
    assert.equal(getAddress(await nodes.read.paymentToken()), getAddress(token.address));
    assert.equal(getAddress(await models.read.datanets()), getAddress(datanets.address));
    assert.equal(getAddress(await models.read.nodes()), getAddress(nodes.address));
    assert.equal(await models.read.leaseDuration(), 600n);
    assert.equal(await nodes.read.minStake(), 5n);
    assert.equal(await token.read.faucetAmount(), 7n);
    assert.equal(getAddress(await models.read.owner()), getAddress(governance.account.address));
    assert.equal(await nodes.read.hasRole([await nodes.read.DEFAULT_ADMIN_ROLE(), governance.account.address]), true);
    assert.equal(getAddress(await settlement.read.owner()), getAddress(governance.account.address));
    const pools = await settlement.read.contributorPools();
    assert.equal(await nodes.read.hasRole([await nodes.read.SLASHER_ROLE(), pools]), true);
    assert.equal(getAddress(await nodes.read.stakeLock()), getAddress(pools));
  });

  it("deploys the registries against an existing ERC-20", async () => {
    const [governance] = await viem.getWalletClients();
    const existing = await viem.deployContract("TributaryToken", [governance.account.address, 1n, 0n, 0n]);
    const { token, models } = await ignition.deploy(TributaryWithTokenModule, {
      parameters: { TributaryWithToken: { paymentToken: existing.address } },
    });
    assert.equal(getAddress(token.address), getAddress(existing.address));
    assert.equal(getAddress(await models.read.paymentToken()), getAddress(existing.address));
  });
});
