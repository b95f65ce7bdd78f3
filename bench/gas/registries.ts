// Gas of the registry operations: Datanets (create, contribute, accept, publish, withdraw stakes and
// forfeits), node registration and a
// training job's life (create, claim, submit). Starts from the protocol fixture the ModelRegistry tests
// use (token, three registries, one published Datanet version, one base model, two active nodes, a
// funded requester). Called by run.ts.
import type { NetworkConnection } from "hardhat/types/network";
import { keccak256, parseEther, toHex, type Account, type Hash, type Hex } from "viem";
import { MIN_STAKE, FEE, LEASE_DURATION, deployProtocol } from "../../test/contracts/models/protocolFixture.ts";
import { gasUsed, type GasRow } from "./gas-table.ts";
import { seededAccounts } from "./seeded-accounts.ts";

/** The bounds: many small contributions must stay cheap, and a curator accepts a page of 100 at once. */
const CONTRIBUTE_NO_STAKE_MAX_GAS = 60_000n;
const ACCEPT_PAGE_MAX_GAS = 1_500_000n;
const PAGE = 100;
const CONTRIBUTION_STAKE = parseEther("1");
/** As in DatanetRegistry.gas.test.ts: 19 contributors taking turns (the old worst case, when accepting paid
 * one refund transfer per run of the same contributor). */
const INTERLEAVED_CONTRIBUTORS = 19;
/** Stakes are pull payments now, so the contributors should not matter; a page of distinct ones shows it. */
const DISTINCT_CONTRIBUTORS = PAGE;
/** Rejected (forfeited) contributions in the forfeit row. */
const FORFEITED = 10;

/** A CIDv1 of realistic length (59 characters), so calldata and events cost what they will in production. */
const CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

export async function measureRegistryGas({ viem, networkHelpers }: NetworkConnection): Promise<GasRow[]> {
  const protocol = await deployProtocol(viem);
  const { governance, requester, token, datanets, nodes, models, publicClient } = protocol;
  // The fixture uses the first five wallets; fresh ones play the new curator, contributor and node.
  const [curator, contributor, newNode] = (await viem.getWalletClients()).slice(5, 8);
  const rows: GasRow[] = [];
  const newAccount = seededAccounts(`tributary gas bench: registries`);
  const gasOf = (operation: string, sent: Promise<Hash>) => gasUsed(publicClient, operation, sent);
  const measure = async (operation: string, sent: Promise<Hash>, target?: bigint) => {
    rows.push({ operation, gas: await gasOf(operation, sent), target });
  };

  /** Creates a Datanet owned by the curator (a row when `operation` names one); returns its id. */
  const createDatanet = async (stake: bigint, operation?: string, forfeitRejectedStake = false) => {
    const args = [CID, "CC-BY-4.0", { stake, maxBytes: 1 << 20, forfeitRejectedStake }] as const;
    const { result: datanetId } = await datanets.simulate.createDatanet(args, { account: curator.account.address });
    const sent = datanets.write.createDatanet(args, { account: curator.account });
    if (operation === undefined) await gasOf("createDatanet", sent);
    else await measure(operation, sent);
    return datanetId;
  };
  const openDatanet = await createDatanet(0n, "createDatanet (the owner's first)");
  const stakedDatanet = await createDatanet(CONTRIBUTION_STAKE, "createDatanet (the owner's second, staked policy)");
  const interleavedDatanet = await createDatanet(CONTRIBUTION_STAKE);
  const distinctDatanet = await createDatanet(CONTRIBUTION_STAKE);
  const forfeitDatanet = await createDatanet(CONTRIBUTION_STAKE, undefined, true);

  /** Contributors that hold and approved enough for `count` stakes each: local keys, funded with ether. */
  const stakingContributors = async (count: number, stakes: number): Promise<Account[]> => {
    const accounts = Array.from({ length: count }, () => newAccount());
    for (const account of accounts) {
      await governance.sendTransaction({ to: account.address, value: parseEther("1") });
      await token.write.transfer([account.address, CONTRIBUTION_STAKE * BigInt(stakes)], { account: governance.account });
      await token.write.approve([datanets.address, CONTRIBUTION_STAKE * BigInt(stakes)], { account });
    }
    return accounts;
  };

  /** `count` (PAGE unless given) contributions to `datanetId`, the contributors taking turns; returns the ids
   * and the costliest gas. */
  const contributePage = async (datanetId: bigint, contributors: Account[], count = PAGE) => {
    const ids: bigint[] = [];
    let worst = 0n;
    for (let i = 0; i < count; i++) {
      const digest: Hex = keccak256(toHex(`contribution-${datanetId}-${i}`));
      const contributor = contributors[i % contributors.length];
      // The most stake any bench Datanet asks, and consent to forfeits (the forfeit Datanet needs it).
      const gas = await gasOf(
        `contribute to Datanet ${datanetId}`,
        datanets.write.contribute([datanetId, digest, 4096n, CID, CONTRIBUTION_STAKE, true], { account: contributor }),
      );
      if (gas > worst) worst = gas;
      ids.push(await datanets.read.contributionIdOf([datanetId, digest, contributor.address]));
    }
    return { ids, worst };
  };

  const open = await contributePage(openDatanet, [contributor.account]);
  rows.push({ operation: `contribute, no stake (worst of ${PAGE})`, gas: open.worst, target: CONTRIBUTE_NO_STAKE_MAX_GAS });
  // This page goes first: the registry's very first stake creates its token balance (~17k once per deployment),
  // which would otherwise stand out as the worst staked contribution below.
  const interleaved = await contributePage(interleavedDatanet, await stakingContributors(INTERLEAVED_CONTRIBUTORS, PAGE));
  // One stake more than it spends, so its token balance never returns to zero (see withdrawStakes below).
  const [stakingContributor] = await stakingContributors(1, PAGE + FORFEITED + 1);
  const staked = await contributePage(stakedDatanet, [stakingContributor]);
  rows.push({ operation: `contribute, staked (worst of ${PAGE})`, gas: staked.worst });
  const distinct = await contributePage(distinctDatanet, await stakingContributors(DISTINCT_CONTRIBUTORS, 1));
  const forfeited = await contributePage(forfeitDatanet, [stakingContributor], FORFEITED);

  const accept = (datanetId: bigint, ids: bigint[]) =>
    datanets.write.acceptContributions([datanetId, ids], { account: curator.account });
  await measure(`acceptContributions, ${PAGE} in one call, no stake`, accept(openDatanet, open.ids), ACCEPT_PAGE_MAX_GAS);
  await measure(
    `acceptContributions, ${PAGE} staked, one contributor`,
    accept(stakedDatanet, staked.ids),
    ACCEPT_PAGE_MAX_GAS,
  );
  await measure(
    `acceptContributions, ${PAGE} staked, ${INTERLEAVED_CONTRIBUTORS} contributors interleaved`,
    accept(interleavedDatanet, interleaved.ids),
    ACCEPT_PAGE_MAX_GAS,
  );
  await measure(
    `acceptContributions, ${PAGE} staked, ${DISTINCT_CONTRIBUTORS} distinct contributors`,
    accept(distinctDatanet, distinct.ids),
    ACCEPT_PAGE_MAX_GAS,
  );
  await measure(
    `rejectContributions, ${FORFEITED} staked, stakes forfeited`,
    datanets.write.rejectContributions([forfeitDatanet, forfeited.ids], { account: curator.account }),
  );
  // Stakes are pulled back by their contributor. The contributor still holds tokens, so neither row pays the
  // ERC-20's ~17k for a balance going from zero to non-zero.
  const withdrawStakes = (ids: bigint[]) =>
    datanets.write.withdrawStakes([ids], { account: stakingContributor });
  await measure("withdrawStakes, 1 contribution", withdrawStakes(staked.ids.slice(0, 1)));
  await measure("withdrawStakes, 10 contributions", withdrawStakes(staked.ids.slice(1, 11)));
  await measure(
    `withdrawForfeits (${FORFEITED} forfeited stakes)`,
    datanets.write.withdrawForfeits([forfeitDatanet], { account: curator.account }),
  );
  await measure(
    `publishVersion (${PAGE} contributions)`,
    datanets.write.publishVersion([openDatanet, keccak256(toHex("version-root")), CID, PAGE, PAGE], {
      account: curator.account,
    }),
  );

  await token.write.transfer([newNode.account.address, MIN_STAKE], { account: governance.account });
  await token.write.approve([nodes.address, MIN_STAKE], { account: newNode.account });
  await measure(
    "register a node (with its minimum stake)",
    nodes.write.register([`peer-${newNode.account.address}`, "https://node.example:8443", 1n, MIN_STAKE], {
      account: newNode.account,
    }),
  );

  const deadline = BigInt(await networkHelpers.time.latest()) + 10n * LEASE_DURATION;
  const request = { datanetId: openDatanet, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: CID, fee: FEE, deadline };
  await measure("createJob (fee escrowed)", models.write.createJob([request], { account: requester.account }));
  const jobId = await models.read.jobCount();
  await measure("claimJob (lease taken)", models.write.claimJob([jobId], { account: newNode.account }));
  await measure(
    "submitResult (Model minted, fee held for the dispute window)",
    models.write.submitResult([jobId, { adapterCid: CID, evaluationCid: CID, attributionIndexCid: CID }], {
      account: newNode.account,
    }),
  );
  await networkHelpers.time.increase(await models.read.jobDisputeWindow());
  await measure("releaseJobPayment (fee paid to the node)", models.write.releaseJobPayment([jobId]));
  return rows;
}
