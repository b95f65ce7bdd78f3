import assert from "node:assert/strict";
import hre, { network } from "hardhat";
import { keccak256, parseEther, toHex, type Hex } from "viem";

const { viem } = await network.create();

// Whole-transaction gas targets from the design: contributing must stay cheap enough for many small
// contributions, and a curator must be able to accept a page of 100 in one transaction.
const CONTRIBUTE_NO_STAKE_MAX_GAS = 60_000n;
const ACCEPT_100_MAX_GAS = 1_500_000n;
const BATCH = 100;

async function measure(stake: bigint, contributors: number) {
  const wallets = (await viem.getWalletClients()).slice(0, contributors + 1);
  const [owner] = wallets;
  const publicClient = await viem.getPublicClient();
  const token = await viem.deployContract("TributaryToken", [owner.account.address, parseEther("1000000"), 0n, 0n]);
  const registry = await viem.deployContract("DatanetRegistry", [token.address]);
  await registry.write.createDatanet(["bafy-meta", "CC-BY-4.0", { stake, maxBytes: 1 << 20, forfeitRejectedStake: false }]);
  const contributorWallets = wallets.slice(1);
  for (const who of contributorWallets) {
    await token.write.transfer([who.account.address, parseEther("1000")]);
    await token.write.approve([registry.address, parseEther("1000")], { account: who.account });
  }

  const ids: bigint[] = [];
  let contributeGas = 0n;
  for (let i = 0; i < BATCH; i++) {
    const digest: Hex = keccak256(toHex(`contribution-${stake}-${i}`));
    // A realistic CIDv1 (59 characters), so calldata and the event cost what they will in production.
    const who = contributorWallets[i % contributorWallets.length];
    const hash = await registry.write.contribute([1n, digest, 4096n, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"], { account: who.account });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (i > 0) contributeGas = receipt.gasUsed > contributeGas ? receipt.gasUsed : contributeGas;
    ids.push(await registry.read.contributionIdOf([1n, digest]));
  }
  const acceptHash = await registry.write.acceptContributions([1n, ids]);
  const acceptGas = (await publicClient.waitForTransactionReceipt({ hash: acceptHash })).gasUsed;
  return { contributeGas, acceptGas };
}

describe("DatanetRegistry gas", function () {
  // Coverage instrumentation adds gas to every statement, so the measurement means nothing there.
  before(function () {
    if (hre.globalOptions.coverage) this.skip();
  });

  it(`contributes without stake in at most ${CONTRIBUTE_NO_STAKE_MAX_GAS} gas and accepts ${BATCH} in at most ${ACCEPT_100_MAX_GAS}`, async () => {
    const { contributeGas, acceptGas } = await measure(0n, 1);
    console.log(`      gas: contribute (no stake) ${contributeGas}, accept ${BATCH} (no stake) ${acceptGas}`);
    assert.ok(contributeGas <= CONTRIBUTE_NO_STAKE_MAX_GAS, `contribute used ${contributeGas} gas`);
    assert.ok(acceptGas <= ACCEPT_100_MAX_GAS, `accepting ${BATCH} used ${acceptGas} gas`);
  });

  it("reports the staked costs, with refunds to 100 different contributors as the worst case", async () => {
    const worst = await measure(parseEther("1"), 19);
    const grouped = await measure(parseEther("1"), 1);
    console.log(
      `      gas: contribute (staked) ${worst.contributeGas}, accept ${BATCH} staked: one contributor ${grouped.acceptGas}, ` +
        `19 contributors interleaved ${worst.acceptGas}`,
    );
    assert.ok(grouped.acceptGas <= ACCEPT_100_MAX_GAS);
  });
});
