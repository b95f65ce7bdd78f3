/**
 * DatanetRegistry: every read and write of Datanets, contributions and versions. Lists come from the registry's
 * events (the dApp's index), current state from its views.
 */
import type { Abi, Address, Hex, PublicClient } from "viem";
import type { ContractCall } from "./calls.ts";
import { addressOf } from "./deployment.ts";
import { datanetRegistryAbi as abi } from "./generated/contracts.ts";
import type { VersionDraft } from "../lib/merkle.ts";
import type { CreateDatanetArgs } from "../lib/validation.ts";

const registry = () => ({ address: addressOf("datanets"), abi });

export interface ContributionPolicy {
  stake: bigint;
  maxBytes: number;
  forfeitRejectedStake: boolean;
}

export interface DatanetSummary {
  id: bigint;
  owner: Address;
  metadataCid: string;
  licence: string;
  policy: ContributionPolicy;
  contributionCount: number;
  acceptedCount: number;
  versionCount: number;
}

export type ContributionStatus = "pending" | "accepted" | "rejected";

export interface ContributionRecord {
  id: bigint;
  contributor: Address;
  digest: Hex;
  number: number;
  byteSize: bigint;
  stake: bigint;
  metadataCid: string;
  status: ContributionStatus;
  /** Stake released to the contributor by the decision (0 while pending, or when forfeited). */
  released: bigint;
  /** Whether the contributor has withdrawn the released stake. */
  withdrawn: boolean;
}

export interface VersionRecord {
  version: number;
  root: Hex;
  contributionCount: number;
  lastContributionNumber: number;
  manifestCid: string;
  publishedAt: number;
}

export async function getDatanet(client: PublicClient, id: bigint): Promise<DatanetSummary> {
  const view = await client.readContract({ ...registry(), functionName: "getDatanet", args: [id] });
  return {
    id,
    owner: view.owner,
    metadataCid: view.metadataCid,
    licence: view.licence,
    policy: { stake: BigInt(view.policy.stake), maxBytes: Number(view.policy.maxBytes), forfeitRejectedStake: view.policy.forfeitRejectedStake },
    contributionCount: Number(view.contributionCount),
    acceptedCount: Number(view.acceptedCount),
    versionCount: Number(view.versionCount),
  };
}

/** Every Datanet, newest first: ids from DatanetCreated events, state from getDatanet (owners and counts change). */
export async function listDatanets(client: PublicClient): Promise<DatanetSummary[]> {
  const created = await client.getContractEvents({ ...registry(), eventName: "DatanetCreated", fromBlock: 0n });
  const ids = created.map((log) => log.args.datanetId as bigint).reverse();
  return Promise.all(ids.map((id) => getDatanet(client, id)));
}

/** A Datanet's contributions in submission order, each with its current decision (from the decision events). */
export async function listContributions(client: PublicClient, datanetId: bigint): Promise<ContributionRecord[]> {
  const filter = { ...registry(), args: { datanetId }, fromBlock: 0n } as const;
  const [submitted, accepted, rejected, withdrawals] = await Promise.all([
    client.getContractEvents({ ...filter, eventName: "ContributionSubmitted" }),
    client.getContractEvents({ ...filter, eventName: "ContributionAccepted" }),
    client.getContractEvents({ ...filter, eventName: "ContributionRejected" }),
    client.getContractEvents({ ...filter, eventName: "StakeWithdrawn" }),
  ]);
  const status = new Map<bigint, ContributionStatus>();
  const released = new Map<bigint, bigint>();
  for (const log of accepted) {
    status.set(log.args.contributionId as bigint, "accepted");
    released.set(log.args.contributionId as bigint, log.args.stakeReleased as bigint);
  }
  for (const log of rejected) {
    status.set(log.args.contributionId as bigint, "rejected");
    released.set(log.args.contributionId as bigint, log.args.stakeRefunded as bigint);
  }
  const withdrawn = new Set(withdrawals.map((log) => log.args.contributionId as bigint));
  return submitted.map((log) => {
    const args = log.args;
    const id = args.contributionId as bigint;
    return {
      id,
      contributor: args.contributor as Address,
      digest: args.digest as Hex,
      number: Number(args.number),
      byteSize: BigInt(args.byteSize as bigint),
      stake: args.stake as bigint,
      metadataCid: args.metadataCid as string,
      status: status.get(id) ?? "pending",
      released: released.get(id) ?? 0n,
      withdrawn: withdrawn.has(id),
    };
  });
}

export async function listVersions(client: PublicClient, datanetId: bigint): Promise<VersionRecord[]> {
  const published = await client.getContractEvents({ ...registry(), eventName: "VersionPublished", args: { datanetId }, fromBlock: 0n });
  return Promise.all(
    published.map(async (log) => {
      const version = Number(log.args.version);
      const record = await client.readContract({ ...registry(), functionName: "getVersion", args: [datanetId, version] });
      return {
        version,
        root: record.root,
        contributionCount: Number(record.contributionCount),
        lastContributionNumber: Number(record.lastContributionNumber),
        manifestCid: record.manifestCid,
        publishedAt: Number(record.publishedAt),
      };
    }),
  );
}

export function isCurator(client: PublicClient, datanetId: bigint, account: Address): Promise<boolean> {
  return client.readContract({ ...registry(), functionName: "isCurator", args: [datanetId, account] });
}

/** The Datanet's current curators: CuratorSet events since the last CuratorsCleared (a transfer clears them). */
export async function listCurators(client: PublicClient, datanetId: bigint): Promise<Address[]> {
  const filter = { ...registry(), args: { datanetId }, fromBlock: 0n } as const;
  const [set, cleared] = await Promise.all([
    client.getContractEvents({ ...filter, eventName: "CuratorSet" }),
    client.getContractEvents({ ...filter, eventName: "CuratorsCleared" }),
  ]);
  const lastClear = cleared.at(-1);
  const after = (log: { blockNumber: bigint; logIndex: number }) =>
    !lastClear || log.blockNumber > lastClear.blockNumber || (log.blockNumber === lastClear.blockNumber && log.logIndex > lastClear.logIndex);
  const curators = new Map<string, Address>();
  for (const log of set.filter(after)) {
    const curator = log.args.curator as Address;
    if (log.args.enabled) curators.set(curator.toLowerCase(), curator);
    else curators.delete(curator.toLowerCase());
  }
  return [...curators.values()];
}

/** Stakes forfeited to the Datanet by rejections and not yet withdrawn by its owner. */
export function forfeitedOf(client: PublicClient, datanetId: bigint): Promise<bigint> {
  return client.readContract({ ...registry(), functionName: "forfeitedOf", args: [datanetId] });
}

export function registryAddress(): Address {
  return addressOf("datanets");
}

export function createDatanetCall({ metadataCid, licence, policy }: CreateDatanetArgs): ContractCall {
  return { ...registry(), functionName: "createDatanet", args: [metadataCid, licence, policy], label: "Create the Datanet" };
}

export function decideCall(datanetId: bigint, contributionIds: readonly bigint[], accept: boolean): ContractCall {
  const n = contributionIds.length;
  return {
    ...registry(),
    functionName: accept ? "acceptContributions" : "rejectContributions",
    args: [datanetId, contributionIds],
    label: `${accept ? "Accept" : "Reject"} ${n} contribution${n === 1 ? "" : "s"}`,
  };
}

export function publishVersionCall(datanetId: bigint, draft: VersionDraft, manifestCid: string): ContractCall {
  return {
    ...registry(),
    functionName: "publishVersion",
    args: [datanetId, draft.root, manifestCid, draft.contributionCount, draft.lastContributionNumber],
    label: `Publish a version of ${draft.contributionCount} contributions`,
  };
}

export interface PreparedContribution {
  digest: Hex;
  byteSize: number;
  metadataCid: string;
}

/**
 * `contribute`, with the contributor's consent when the registry asks for it: registries whose `contribute` takes
 * (maxStake, acceptForfeit) get the stake shown to the user and whether they accepted the forfeit rule, so the
 * contract refuses if the policy changed after the user read it.
 */
export function contributeCall(datanetId: bigint, prepared: PreparedContribution, policy: ContributionPolicy, acceptForfeit: boolean): ContractCall {
  const fn = (abi as Abi).find((item) => item.type === "function" && item.name === "contribute");
  const inputs = fn && fn.type === "function" ? fn.inputs.map((input) => input.name) : [];
  const args: unknown[] = [datanetId, prepared.digest, BigInt(prepared.byteSize), prepared.metadataCid];
  if (inputs.includes("maxStake")) args.push(policy.stake);
  if (inputs.includes("acceptForfeit")) args.push(acceptForfeit);
  return { ...registry(), functionName: "contribute", args, label: "Register the contribution" };
}

export function setCuratorCall(datanetId: bigint, curator: Address, enabled: boolean): ContractCall {
  return { ...registry(), functionName: "setCurator", args: [datanetId, curator, enabled], label: enabled ? "Appoint curator" : "Remove curator" };
}

/** Withdraws released stakes of one contributor's contributions, in one transfer. */
export function withdrawStakesCall(contributionIds: readonly bigint[]): ContractCall {
  const n = contributionIds.length;
  return { ...registry(), functionName: "withdrawStakes", args: [contributionIds], label: `Withdraw ${n} released stake${n === 1 ? "" : "s"}` };
}

/** The connected contributor's contributions whose stake is released and not yet withdrawn. */
export function withdrawable(contributions: readonly ContributionRecord[], contributor: Address): ContributionRecord[] {
  return contributions.filter((c) => c.contributor.toLowerCase() === contributor.toLowerCase() && c.released > 0n && !c.withdrawn);
}

export function withdrawForfeitsCall(datanetId: bigint): ContractCall {
  return { ...registry(), functionName: "withdrawForfeits", args: [datanetId], label: "Withdraw forfeited stakes" };
}
