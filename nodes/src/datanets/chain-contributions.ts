/**
 * A Datanet's contributions as the chain records them: every `ContributionSubmitted` event with the decision
 * (`ContributionAccepted` / `ContributionRejected`) that followed, in contribution-number order. What the CLI lists,
 * what a version manifest is built from, and what the `verify` phase compares a manifest against.
 */
import type { Address, Hex } from "viem";
import type { ProtocolChain } from "../chain/protocol.ts";
import type { AcceptedContribution } from "./version-manifest.ts";

export type ContributionState = "pending" | "accepted" | "rejected";

export interface ChainContribution extends AcceptedContribution {
  contributionId: bigint;
  contributor: Address;
  digest: Hex;
  /** 1, 2, ... within the Datanet. */
  number: number;
  byteSize: bigint;
  stake: bigint;
  metadataCid: string;
  status: ContributionState;
}

export async function listContributions(chain: ProtocolChain, datanetId: bigint, fromBlock = 0n): Promise<ChainContribution[]> {
  const common = { address: chain.addresses.datanets, abi: chain.abis.datanets, args: { datanetId }, fromBlock } as const;
  const [submitted, accepted, rejected] = await Promise.all([
    chain.client.getContractEvents({ ...common, eventName: "ContributionSubmitted" }),
    chain.client.getContractEvents({ ...common, eventName: "ContributionAccepted" }),
    chain.client.getContractEvents({ ...common, eventName: "ContributionRejected" }),
  ]);
  const decided = new Map<bigint, ContributionState>();
  for (const event of accepted) decided.set(event.args.contributionId!, "accepted");
  for (const event of rejected) decided.set(event.args.contributionId!, "rejected");
  return submitted
    .map((event) => {
      const a = event.args;
      return {
        contributionId: a.contributionId!, contributor: a.contributor!, digest: a.digest!, number: Number(a.number!), byteSize: a.byteSize!,
        stake: a.stake!, metadataCid: a.metadataCid!, status: decided.get(a.contributionId!) ?? "pending",
      } satisfies ChainContribution;
    })
    .sort((x, y) => x.number - y.number);
}

/** What `publishVersion` takes besides the root and manifest: the included count and highest number. */
export function versionBounds(included: readonly Pick<ChainContribution, "number">[]): { contributionCount: number; lastContributionNumber: number } {
  return { contributionCount: included.length, lastContributionNumber: included.reduce((max, c) => Math.max(max, c.number), 0) };
}
