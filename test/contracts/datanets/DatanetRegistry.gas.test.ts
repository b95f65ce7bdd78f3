import assert from "node:assert/strict";
import hre, { network } from "hardhat";
import { keccak256, parseEther, toHex, type Account, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const { viem } = await network.create();

// Whole-transaction gas targets from the design: contributing must stay cheap enough for many small
// contributions, and a curator must be able to accept a page of 100 in one transaction whoever contributed it.
const CONTRIBUTE_NO_STAKE_MAX_GAS = 60_000n;
const ACCEPT_100_MAX_GAS = 1_500_000n;
const BATCH = 100;
const STAKE = parseEther("1");

/** `count` fresh local accounts holding ether and BATCH stakes, with the registry approved to pull them. */
async function fundedContributors(count: number, tag: string, token: { address: Hex }, registry: { address: Hex }) {
  const [owner] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const tokenContract = await viem.getContractAt("TributaryToken", token.address);
  const accounts: Account[] = [];
  for (let i = 0; i < count; i++) {
    const account = privateKeyToAccount(keccak256(toHex(`datanet gas test/${tag}/${i}`)));
    await publicClient.waitForTransactionReceipt({ hash: await owner.sendTransaction({ to: account.address, value: parseEther("1") }) });
    await tokenContract.write.transfer([account.address, STAKE * BigInt(BATCH)]);
    await tokenContract.write.approve([registry.address, STAKE * BigInt(BATCH)], { account });
    accounts.push(account);
  }
  return accounts;
}

/** BATCH contributions from `contributors` taking turns, then one acceptContributions of all of them. */
async function measure(stake: bigint, contributorCount: number) {
  const [owner] = await viem.getWalletClients();
  const publicClient = await viem.getPublicClient();
  const token = await viem.deployContract("TributaryToken", [owner.account.address, parseEther("1000000"), 0n, 0n]);
  const registry = await viem.deployContract("DatanetRegistry", [token.address]);
  await registry.write.createDatanet(["bafy-meta", "CC-BY-4.0", { stake, maxBytes: 1 << 20, forfeitRejectedStake: false }]);
  const contributors = await fundedContributors(contributorCount, `${stake}-${contributorCount}`, token, registry);

  const ids: bigint[] = [];
  let contributeGas = 0n;
  for (let i = 0; i < BATCH; i++) {
    const digest: Hex = keccak256(toHex(`contribution-${stake}-${i}`));
    // A realistic CIDv1 (59 characters), so calldata and the event cost what they will in production.
    const contributor = contributors[i % contributors.length];
    // The contributor accepts exactly the stake it read from the policy, as the node and the dApp do.
    const hash = await registry.write.contribute([1n, digest, 4096n, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", stake, false], {
      account: contributor,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (i > 0) contributeGas = receipt.gasUsed > contributeGas ? receipt.gasUsed : contributeGas;
    ids.push(await registry.read.contributionIdOf([1n, digest, contributor.address]));
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

  it(`accepts ${BATCH} staked contributions in at most ${ACCEPT_100_MAX_GAS} gas however many contributors made them`, async () => {
    const one = await measure(STAKE, 1);
    const interleaved = await measure(STAKE, 19);
    const distinct = await measure(STAKE, BATCH);
    console.log(
      `      gas: contribute (staked) ${distinct.contributeGas}, accept ${BATCH} staked: one contributor ${one.acceptGas}, ` +
        `19 contributors interleaved ${interleaved.acceptGas}, ${BATCH} distinct contributors ${distinct.acceptGas}`,
    );
    for (const [label, gas] of [["one contributor", one.acceptGas], ["19 interleaved", interleaved.acceptGas], [`${BATCH} distinct`, distinct.acceptGas]] as const) {
      assert.ok(gas <= ACCEPT_100_MAX_GAS, `accepting ${BATCH} staked (${label}) used ${gas} gas`);
    }
  });
});
