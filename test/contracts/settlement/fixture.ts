// Shared deployment and signing helpers for the settlement tests and the gas bench.
import type { network } from "hardhat";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { erc20Abi, getContract, parseAbi, parseSignature, signatureToCompactSignature, type Address, type Hex, type LocalAccount, type WalletClient } from "viem";

export type HardhatViem = Awaited<ReturnType<typeof network.create>>["viem"];

export const UNIT = 10n ** 18n;
export const HOUR = 3600n;
export const DAY = 24n * HOUR;
export const PROTOCOL_FEE_BPS = 500n;
export const CHALLENGE_BOND = 100n * UNIT;
export const SLASH_AMOUNT = 1_000n * UNIT;
export const NODE_STAKE = 5_000n * UNIT;
export const PAYER_DEPOSIT = 1_000n * UNIT;

/**
 * Model 1: owner 20 %, contributors 50 %, node 30 %. Model 2: owner 10 %, contributors 60 %, node 30 %. Both at
 * terms version 1 after deployment.
 */
export const MODEL_A = { id: 1n, version: 1n, price: 2n * UNIT, ownerBps: 2_000, contributorBps: 5_000, nodeBps: 3_000 };
export const MODEL_B = { id: 2n, version: 1n, price: 0n, ownerBps: 1_000, contributorBps: 6_000, nodeBps: 3_000 };

/** The EIP-712 voucher type: `Voucher(address payer,address node,uint256 modelId,uint64 termsVersion,uint256 cumulativeAmount)`. */
export const VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "node", type: "address" },
    { name: "modelId", type: "uint256" },
    { name: "termsVersion", type: "uint64" },
    { name: "cumulativeAmount", type: "uint256" },
  ],
} as const;

/** Why settleBatch skipped a voucher (VoucherSkipReason.sol). */
export const SKIP = {
  stale: 1,
  invalidSignature: 2,
  signerNotAuthorized: 3,
  sessionKeyExpired: 4,
  sessionKeyCapExceeded: 5,
  insufficientFunds: 6,
  termsUnavailable: 7,
  termsSuperseded: 8,
} as const;

/** What settleBatch takes per voucher. */
export interface SignedVoucher {
  payer: Address;
  modelId: bigint;
  termsVersion: bigint;
  cumulativeAmount: bigint;
  r: Hex;
  yParityAndS: Hex;
}

/** A voucher's message; the model and terms version default to MODEL_A at version 1. */
export interface VoucherMessage {
  payer: Address;
  node: Address;
  cumulativeAmount: bigint;
  modelId?: bigint;
  termsVersion?: bigint;
}

export interface VoucherDomain {
  chainId: number;
  verifyingContract: Address;
}

type Signer = WalletClient | LocalAccount;

function isLocalAccount(signer: Signer): signer is LocalAccount {
  return "type" in signer && signer.type === "local";
}

/** TestPaymentToken's ABI, spelled out because Hardhat emits no ABI types for test-source contracts. */
const TEST_TOKEN_ABI = [...erc20Abi, ...parseAbi(["function mint(address to, uint256 amount)"])] as const;

/** Signs a voucher with viem's signTypedData (a Hardhat wallet or a local session-key account). */
export async function signVoucher(signer: Signer, domain: VoucherDomain, voucher: VoucherMessage): Promise<SignedVoucher> {
  const message = { modelId: MODEL_A.id, termsVersion: MODEL_A.version, ...voucher };
  const typedData = {
    domain: { name: "Tributary", version: "1", ...domain },
    types: VOUCHER_TYPES,
    primaryType: "Voucher",
    message,
  } as const;
  const signature = isLocalAccount(signer)
    ? await signer.signTypedData(typedData)
    : await signer.signTypedData({ ...typedData, account: signer.account! });
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
  const { payer, modelId, termsVersion, cumulativeAmount } = message;
  return { payer, modelId, termsVersion, cumulativeAmount, r, yParityAndS };
}

/** A StandardMerkleTree over cumulative (account, amount) credits, as the off-chain batch builder makes it. */
export function creditTree(credits: ReadonlyArray<readonly [Address, bigint]>) {
  const tree = StandardMerkleTree.of(
    credits.map(([account, amount]) => [account, amount]),
    ["address", "uint256"],
  );
  const total = credits.reduce((sum, [, amount]) => sum + amount, 0n);
  const proofOf = (account: Address): Hex[] => {
    for (const [index, [leafAccount]] of tree.entries()) {
      if ((leafAccount as string).toLowerCase() === account.toLowerCase()) return tree.getProof(index) as Hex[];
    }
    throw new Error(`account ${account} is not in the credit tree`);
  };
  return { root: tree.root as Hex, total, proofOf };
}

/** The split the contract must produce (node takes the rounding dust). */
export function expectedSplit(revenue: bigint, feeBps: bigint, ownerBps: number, contributorBps: number) {
  const protocolFee = (revenue * feeBps) / 10_000n;
  const net = revenue - protocolFee;
  const owner = (net * BigInt(ownerBps)) / 10_000n;
  const contributors = (net * BigInt(contributorBps)) / 10_000n;
  return { protocolFee, owner, contributors, node: net - owner - contributors };
}

/** The Settlement's constructor parameters with the test constants, for the given contracts and accounts. */
export function settlementParams(addresses: { token: Address; nodes: Address; models: Address; governance: Address; arbiter: Address }) {
  return {
    ...addresses,
    protocolFeeBps: PROTOCOL_FEE_BPS,
    withdrawalDelay: DAY,
    disputeWindow: DAY,
    inferenceTimeout: HOUR,
    challengeBond: CHALLENGE_BOND,
    slashAmount: SLASH_AMOUNT,
  };
}

/** Deploys token, registry fakes and Settlement (with the ContributorPools it creates); funds and activates a node; gives two payers escrow. */
export async function deploySettlement(viem: HardhatViem) {
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [governance, arbiter, node, payer, payer2, modelOwner, alice, bob, challenger, outsider] = wallets;
  const deployedToken = await viem.deployContract("TestPaymentToken");
  const token = getContract({
    address: deployedToken.address,
    abi: TEST_TOKEN_ABI,
    client: { public: publicClient, wallet: governance },
  });
  const nodes = await viem.deployContract("FakeNodeRegistry", [token.address]);
  const models = await viem.deployContract("FakeModelRegistry");
  const settlement = await viem.deployContract("Settlement", [
    settlementParams({
      token: token.address, nodes: nodes.address, models: models.address,
      governance: governance.account.address, arbiter: arbiter.account.address,
    }),
  ]);
  const pools = await viem.getContractAt("ContributorPools", await settlement.read.contributorPools());
  await nodes.write.setSlasher([pools.address]);
  await nodes.write.setActive([node.account.address, true]);
  await token.write.mint([nodes.address, NODE_STAKE]);
  await nodes.write.setStake([node.account.address, NODE_STAKE]);
  for (const model of [MODEL_A, MODEL_B]) {
    await models.write.setTerms([
      model.id,
      modelOwner.account.address,
      model.price,
      model.ownerBps,
      model.contributorBps,
      model.nodeBps,
    ]);
  }
  for (const account of [payer, payer2, challenger]) {
    await token.write.mint([account.account.address, 10n * PAYER_DEPOSIT]);
    await token.write.approve([settlement.address, 2n ** 256n - 1n], { account: account.account });
    await token.write.approve([pools.address, 2n ** 256n - 1n], { account: account.account });
  }
  for (const account of [payer, payer2]) {
    await settlement.write.deposit([PAYER_DEPOSIT], { account: account.account });
  }
  const domain: VoucherDomain = { chainId: await publicClient.getChainId(), verifyingContract: settlement.address };
  return {
    publicClient,
    token,
    nodes,
    models,
    settlement,
    pools,
    domain,
    governance,
    arbiter,
    node,
    payer,
    payer2,
    modelOwner,
    alice,
    bob,
    challenger,
    outsider,
  };
}
