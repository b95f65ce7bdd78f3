import assert from "node:assert/strict";
import { network } from "hardhat";
import { parseEther } from "viem";

const { viem, networkHelpers } = await network.create();

const DRIP = parseEther("100");
const COOLDOWN = 3600n;

async function deployToken() {
  const [owner, alice] = await viem.getWalletClients();
  const token = await viem.deployContract("TributaryToken", [owner.account.address, parseEther("1000"), DRIP, COOLDOWN]);
  return { owner, alice, token };
}

describe("TributaryToken", () => {
  it("mints the initial supply to the owner", async () => {
    const { token, owner } = await networkHelpers.loadFixture(deployToken);
    assert.equal(await token.read.balanceOf([owner.account.address]), parseEther("1000"));
    assert.equal(await token.read.symbol(), "TRIB");
    assert.equal(await token.read.faucetEnabled(), true);
  });

  it("drips once per cooldown per account", async () => {
    const { token, alice } = await networkHelpers.loadFixture(deployToken);
    const as = { account: alice.account };
    await viem.assertions.emitWithArgs(token.write.drip(as), token, "FaucetDripped", [alice.account.address, DRIP]);
    assert.equal(await token.read.balanceOf([alice.account.address]), DRIP);
    const last = await token.read.lastDripAt([alice.account.address]);
    await viem.assertions.revertWithCustomErrorWithArgs(token.write.drip(as), token, "FaucetCoolingDown", [alice.account.address, last + COOLDOWN]);
    await networkHelpers.time.increaseTo(last + COOLDOWN);
    await token.write.drip(as);
    assert.equal(await token.read.balanceOf([alice.account.address]), 2n * DRIP);
  });

  it("lets only the owner turn the faucet off and on", async () => {
    const { token, alice } = await networkHelpers.loadFixture(deployToken);
    await viem.assertions.revertWithCustomErrorWithArgs(token.write.setFaucetEnabled([false], { account: alice.account }), token, "OwnableUnauthorizedAccount", [alice.account.address]);
    await viem.assertions.emitWithArgs(token.write.setFaucetEnabled([false]), token, "FaucetEnabledSet", [false]);
    await viem.assertions.revertWithCustomError(token.write.drip({ account: alice.account }), token, "FaucetDisabled");
    await token.write.setFaucetEnabled([true]);
    await token.write.drip({ account: alice.account });
  });

  it("accepts EIP-2612 permits", async () => {
    const { token, owner, alice } = await networkHelpers.loadFixture(deployToken);
    const publicClient = await viem.getPublicClient();
    const deadline = (await publicClient.getBlock()).timestamp + 3600n;
    const nonce = await token.read.nonces([owner.account.address]);
    const signature = await owner.signTypedData({
      domain: { name: "Tributary Test Token", version: "1", chainId: await publicClient.getChainId(), verifyingContract: token.address },
      types: { Permit: [
        { name: "owner", type: "address" }, { name: "spender", type: "address" }, { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" },
      ] },
      primaryType: "Permit",
      message: { owner: owner.account.address, spender: alice.account.address, value: 5n, nonce, deadline },
    });
    const r = `0x${signature.slice(2, 66)}` as const;
    const s = `0x${signature.slice(66, 130)}` as const;
    const v = Number.parseInt(signature.slice(130, 132), 16);
    await token.write.permit([owner.account.address, alice.account.address, 5n, deadline, v, r, s], { account: alice.account });
    assert.equal(await token.read.allowance([owner.account.address, alice.account.address]), 5n);
  });
});
