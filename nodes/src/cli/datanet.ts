/**
 * `datanet ...`: the contributor's and curator's commands (the dApp's Datanet pages, scriptable).
 *   create         describe the Datanet on IPFS through the node, then createDatanet with its licence and stake policy
 *   contribute     upload a file through the node (validated, stored, pinned), show the stake and what happens to
 *                  it on rejection, then register the contribution on-chain
 *   contributions  list a Datanet's contributions with their status, from the chain's events
 *   accept/reject  decide pending contributions (owner or curator)
 *   publish        have the node build and pin the version manifest over the accepted contributions, check it
 *                  here against the chain (root recomputed, same contributions), then publish the root on-chain
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseEventLogs } from "viem";
import { listContributions, type ChainContribution } from "../datanets/chain-contributions.ts";
import type { PreparedContribution } from "../datanets/prepare-contribution.ts";
import { parseVersionManifest, rootOf, type VersionManifest } from "../datanets/version-manifest.ts";
import type { ChainSession } from "./chain-session.ts";
import { UsageError } from "./errors.ts";
import { NodeClient } from "./node-client.ts";
import { ensureFunds, formatTokens, parseTokens } from "./tokens.ts";

const MEDIA_TYPES: Record<string, string> = { ".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown", ".jsonl": "application/jsonl" };

export function parseId(text: string, what: string): bigint {
  if (/^[1-9]\d{0,77}$/.test(text)) return BigInt(text);
  if (/^0x[0-9a-fA-F]{1,64}$/.test(text)) return BigInt(text);
  throw new UsageError(`${what} must be a positive integer (decimal or 0x hex), got "${text}"`);
}

function eventArgs<T>(session: ChainSession, receipt: { logs: readonly unknown[] }, eventName: string): T {
  const [log] = parseEventLogs({ abi: session.chain.abis.datanets, logs: receipt.logs as never, eventName: eventName as never });
  return (log as unknown as { args: T }).args;
}

/** Asks on a terminal; elsewhere the caller must have passed --yes. */
async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new UsageError("not confirmed: pass --yes to send without asking");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("cancelled; nothing was sent");
  } finally {
    rl.close();
  }
}

export interface CreateOptions {
  name?: string;
  description?: string;
  licence?: string;
  stake?: string;
  maxBytes?: string;
  forfeitRejected?: boolean;
}

export async function datanetCreate(session: ChainSession, node: NodeClient, options: CreateOptions): Promise<void> {
  const { chain } = session;
  if (!options.name) throw new UsageError("--name is required: the Datanet's name");
  if (!options.licence) throw new UsageError("--licence is required: the data's licence, e.g. CC-BY-4.0 (an SPDX id)");
  const stake = parseTokens(options.stake ?? "0", "--stake");
  if (stake >= 2n ** 96n) throw new UsageError("--stake is too large");
  const maxBytes = options.maxBytes === undefined ? 16 * 1024 * 1024 : Number(options.maxBytes);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes >= 2 ** 40) throw new UsageError(`--max-bytes must be a positive integer, got "${options.maxBytes}"`);
  const { cid } = await node.postJson<{ cid: string }>("/v1/datanets/metadata", { name: options.name, ...(options.description ? { description: options.description } : {}) });
  const policy = { stake, maxBytes, forfeitRejectedStake: options.forfeitRejected === true };
  const { hash, receipt } = await chain.sender.write({ contract: "datanets", functionName: "createDatanet", args: [cid, options.licence, policy] });
  const { datanetId } = eventArgs<{ datanetId: bigint }>(session, receipt, "DatanetCreated");
  console.log(`Created Datanet ${datanetId} "${options.name}" (licence ${options.licence}, stake ${formatTokens(stake)} per contribution, ` +
    `${policy.forfeitRejectedStake ? "forfeited" : "refunded"} on rejection, max ${maxBytes} bytes; metadata ${cid}); tx ${hash}`);
}

export interface ContributeOptions {
  title?: string;
  licence?: string;
  language?: string;
  description?: string;
  type?: string;
  yes?: boolean;
}

export async function datanetContribute(session: ChainSession, node: NodeClient, datanetIdText: string, file: string, options: ContributeOptions): Promise<void> {
  const { chain } = session;
  const datanetId = parseId(datanetIdText, "<datanetId>");
  const mediaType = options.type ?? MEDIA_TYPES[extname(file).toLowerCase()];
  if (!mediaType) throw new UsageError(`cannot tell ${file}'s type from its extension; pass --type text/plain, text/markdown or application/jsonl`);
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file} (${error.code ?? error.message})`);
  });
  const datanet = await chain.read("datanets", "getDatanet", [datanetId]);
  const { stake, maxBytes, forfeitRejectedStake } = datanet.policy;
  if (bytes.byteLength > maxBytes) throw new UsageError(`${file} is ${bytes.byteLength} bytes; Datanet ${datanetId} takes contributions of at most ${maxBytes} bytes`);

  console.error(stake === 0n
    ? `Datanet ${datanetId} asks no stake for a contribution.`
    : `Datanet ${datanetId} takes a stake of ${formatTokens(stake)} tokens with this contribution. If it is accepted, you can withdraw the stake; ` +
      (forfeitRejectedStake ? "if it is REJECTED, the stake is FORFEITED to the Datanet's owner." : "if it is rejected, the stake is refunded to you."));
  await confirm(`Contribute ${file} (${bytes.byteLength} bytes, ${mediaType})?`, options.yes === true);

  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prepared = await node.uploadContribution(view, mediaType, {
    title: options.title ?? basename(file),
    licence: options.licence ?? datanet.licence,
    language: options.language ?? "en",
    ...(options.description ? { description: options.description } : {}),
  });
  await checkPrepared(node, view, prepared);
  await ensureFunds(chain, chain.addresses.datanets, stake, "the contribution stake");
  // The stake and rejection rule the user was shown are the most the contract may take: an owner who raises the
  // stake or turns on forfeits after this read makes the transaction revert instead of costing the contributor.
  const { hash, receipt } = await chain.sender.write({
    contract: "datanets",
    functionName: "contribute",
    args: [datanetId, prepared.digest, BigInt(prepared.byteSize), prepared.metadataCid, stake, forfeitRejectedStake],
  });
  const { contributionId, number } = eventArgs<{ contributionId: bigint; number: number }>(session, receipt, "ContributionSubmitted");
  console.log(`Contributed ${file} to Datanet ${datanetId} as contribution #${number}, id ${contributionId} (content ${prepared.cid}, metadata ${prepared.metadataCid}, stake ${formatTokens(stake)}); tx ${hash}`);
}

/** One raw block holds a file up to this size (unixfs-v1-2025), so its digest is the bytes' sha-256. */
const SINGLE_BLOCK_BYTES = 1024 * 1024;

/** What gets registered on-chain must describe these bytes: the node's answer is checked, not trusted. */
async function checkPrepared(node: NodeClient, bytes: Uint8Array, prepared: PreparedContribution): Promise<void> {
  const fail = (what: string) => {
    throw new UsageError(`the node at ${node.baseUrl} returned ${what} that does not match the file; nothing was registered`);
  };
  if (prepared.byteSize !== bytes.byteLength) fail(`a size of ${prepared.byteSize} bytes`);
  if (bytes.byteLength <= SINGLE_BLOCK_BYTES && prepared.digest.toLowerCase() !== `0x${createHash("sha256").update(bytes).digest("hex")}`) fail(`digest ${prepared.digest}`);
  const metadata = await node.ipfsJson<{ content?: string; byteSize?: number }>(prepared.metadataCid);
  if (metadata.content !== prepared.cid || metadata.byteSize !== bytes.byteLength) fail(`metadata ${prepared.metadataCid}`);
}

function contributionJson(c: ChainContribution): Record<string, unknown> {
  return { ...c, contributionId: c.contributionId.toString(), byteSize: Number(c.byteSize), stake: formatTokens(c.stake) };
}

export async function datanetContributions({ chain, config }: ChainSession, datanetIdText: string, json: boolean): Promise<void> {
  const datanetId = parseId(datanetIdText, "<datanetId>");
  await chain.read("datanets", "getDatanet", [datanetId]); // a missing Datanet reverts with its name
  const list = await listContributions(chain, datanetId, config.startBlock);
  if (json) {
    console.log(JSON.stringify(list.map(contributionJson), null, 2));
    return;
  }
  if (list.length === 0) console.log(`Datanet ${datanetId} has no contributions yet.`);
  for (const c of list) console.log(`#${c.number}\t${c.status}\t${c.contributor}\t${c.byteSize} bytes\tstake ${formatTokens(c.stake)}\t${c.contributionId}`);
}

export async function datanetDecide(session: ChainSession, datanetIdText: string, idTexts: readonly string[], accept: boolean, allPending: boolean): Promise<void> {
  const { chain, config } = session;
  const datanetId = parseId(datanetIdText, "<datanetId>");
  let ids = idTexts.map((t) => parseId(t, "contribution id"));
  if (allPending) ids = [...ids, ...(await listContributions(chain, datanetId, config.startBlock)).filter((c) => c.status === "pending").map((c) => c.contributionId)];
  if (ids.length === 0) throw new UsageError("name the contributions to decide (ids from `datanet contributions`), or pass --pending for all pending ones");
  if (!(await chain.read("datanets", "isCurator", [datanetId, chain.account.address]))) {
    throw new UsageError(`${chain.account.address} is neither the owner nor a curator of Datanet ${datanetId}; use the owner's key`);
  }
  const { hash } = await chain.sender.write({ contract: "datanets", functionName: accept ? "acceptContributions" : "rejectContributions", args: [datanetId, ids] });
  console.log(`${accept ? "Accepted" : "Rejected"} ${ids.length} contribution${ids.length === 1 ? "" : "s"} of Datanet ${datanetId}; tx ${hash}`);
}

interface ManifestReply {
  cid: string;
  root: `0x${string}`;
  contributionCount: number;
  lastContributionNumber: number;
}

export async function datanetPublish(session: ChainSession, node: NodeClient, datanetIdText: string): Promise<void> {
  const { chain, config } = session;
  const datanetId = parseId(datanetIdText, "<datanetId>");
  if (!(await chain.read("datanets", "isCurator", [datanetId, chain.account.address]))) {
    throw new UsageError(`${chain.account.address} is neither the owner nor a curator of Datanet ${datanetId}; use the owner's key`);
  }
  const built = await node.postJson<ManifestReply>(`/v1/datanets/${datanetId}/manifest`);
  // The node built it; check it here before committing to it on-chain.
  const manifest: VersionManifest = parseVersionManifest(await node.ipfsJson(built.cid), `manifest ${built.cid}`);
  const root = rootOf(manifest);
  if (root !== built.root || manifest.root !== root) throw new UsageError(`the node's manifest ${built.cid} hashes to ${root}, not the root ${built.root} it reported; nothing was published`);
  if (manifest.datanetId !== datanetId.toString()) throw new UsageError(`the node's manifest is for Datanet ${manifest.datanetId}; nothing was published`);
  const accepted = (await listContributions(chain, datanetId, config.startBlock)).filter((c) => c.status === "accepted");
  const listed = new Set(manifest.contributions.map((c) => c.contributionId));
  const missing = accepted.filter((c) => !listed.has(c.contributionId.toString()));
  if (missing.length > 0 || listed.size !== accepted.length) {
    throw new UsageError(`the node's manifest lists ${listed.size} contributions but the chain has ${accepted.length} accepted; nothing was published`);
  }
  const { hash, receipt } = await chain.sender.write({
    contract: "datanets", functionName: "publishVersion", args: [datanetId, root, built.cid, built.contributionCount, built.lastContributionNumber],
  });
  const { version } = eventArgs<{ version: number }>(session, receipt, "VersionPublished");
  console.log(`Published Datanet ${datanetId} version ${version}: ${built.contributionCount} contributions, root ${root}, manifest ${built.cid}; tx ${hash}`);
}
