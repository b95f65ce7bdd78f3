/**
 * The `fetch` and `verify` phases: the job's data, exactly as the Datanet version committed to it.
 *
 * `fetch` reads and checks the hyper-parameters document (the job fails with the reason when it is not valid),
 * reads the version's root and manifest CID from the DatanetRegistry, rebuilds the training set from the manifest
 * (every contribution's CID checked against its committed digest and id, every block against its CID, the manifest
 * against the on-chain root: `rebuildTrainingSet`) and saves it under the job's workDir:
 *   hyperparameters.json, manifest.json, training-set.jsonl (one { contributionId, contributor, digest, cid, text } a line).
 * `verify` checks the manifest against the chain's own records of the contributions: as many as the version
 * counts, each accepted in this Datanet by the contributor the manifest names, none numbered past the version.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import type { ProtocolChain } from "../../chain/protocol.ts";
import { listContributions } from "../../datanets/chain-contributions.ts";
import { rebuildTrainingSet } from "../../datanets/training-set.ts";
import type { VersionManifest } from "../../datanets/version-manifest.ts";
import type { ContentStore } from "../../storage/content-store.ts";
import { parseCid } from "../../storage/helia-store.ts";
import { validateHyperparameters } from "../hyperparameters.ts";
import type { PhaseHandler } from "../pipeline.ts";

export interface FetchOutput {
  manifestCid: string;
  root: Hex;
  contributions: number;
  bytes: number;
  /** File names under the job's workDir. */
  hyperparameters: string;
  manifest: string;
  trainingSet: string;
}

export interface VerifyOutput {
  root: Hex;
  contributions: number;
  bytes: number;
  contributors: number;
}

export class JobDataError extends Error {
  override name = "JobDataError";
}

export interface DataPhaseDeps {
  store: ContentStore;
  chain: ProtocolChain;
  /** First block the registry's events can be in (the deployment block). */
  fromBlock: bigint;
  /** How long to look for a missing block on peers before giving up. */
  fetchTimeoutMs?: number;
}

export function fetchPhase({ store, chain, fetchTimeoutMs }: DataPhaseDeps): PhaseHandler {
  return async ({ job, workDir, signal, logger, progress }) => {
    const options = { signal, timeoutMs: fetchTimeoutMs };
    let hyperparametersCid;
    try {
      hyperparametersCid = parseCid(job.hyperParamsCid);
    } catch (error) {
      throw new JobDataError(`the job's hyper-parameters CID "${job.hyperParamsCid}" is not a CID: ${(error as Error).message}`);
    }
    const hyperparameters = validateHyperparameters(await store.getJson(hyperparametersCid, options), `hyper-parameters document ${job.hyperParamsCid}`);

    const [root, manifestCid] = await chain.read("datanets", "versionRoot", [job.datanetId, job.datanetVersion]);
    progress({ message: `rebuilding Datanet ${job.datanetId} version ${job.datanetVersion} from ${manifestCid}` });
    const set = await rebuildTrainingSet(manifestCid, store, { ...options, expectedRoot: root });
    if (set.manifest.datanetId !== job.datanetId.toString()) {
      throw new JobDataError(`manifest ${manifestCid} is for Datanet ${set.manifest.datanetId}, but the job trains on Datanet ${job.datanetId}`);
    }

    await mkdir(workDir, { recursive: true });
    await writeFile(join(workDir, "hyperparameters.json"), JSON.stringify(hyperparameters, null, 2));
    await writeFile(join(workDir, "manifest.json"), JSON.stringify(set.manifest, null, 2));
    await writeFile(join(workDir, "training-set.jsonl"), set.contributions
      .map(({ contributionId, contributor, digest, cid, text }) => JSON.stringify({ contributionId, contributor, digest, cid, text }) + "\n").join(""));
    const bytes = set.contributions.reduce((sum, c) => sum + c.byteSize, 0);
    logger.info({ manifestCid, root, contributions: set.contributions.length, bytes }, "training set rebuilt");
    return {
      manifestCid, root: set.root, contributions: set.contributions.length, bytes,
      hyperparameters: "hyperparameters.json", manifest: "manifest.json", trainingSet: "training-set.jsonl",
    } satisfies FetchOutput;
  };
}

export function verifyPhase({ chain, fromBlock }: DataPhaseDeps): PhaseHandler {
  return async ({ job, workDir, outputs, logger }) => {
    const fetched = outputs.fetch as FetchOutput | undefined;
    if (!fetched?.manifest) throw new JobDataError("the fetch phase left no manifest to verify");
    const manifest = JSON.parse(await readFile(join(workDir, fetched.manifest), "utf8")) as VersionManifest;
    const version = await chain.read("datanets", "getVersion", [job.datanetId, job.datanetVersion]);
    if (version.root.toLowerCase() !== manifest.root.toLowerCase()) {
      throw new JobDataError(`the saved manifest's root ${manifest.root} is not version ${job.datanetVersion}'s on-chain root ${version.root}`);
    }
    if (manifest.contributions.length !== version.contributionCount) {
      throw new JobDataError(`manifest lists ${manifest.contributions.length} contributions, the on-chain version ${version.contributionCount}`);
    }
    const onChain = new Map((await listContributions(chain, job.datanetId, fromBlock)).map((c) => [c.contributionId.toString(), c]));
    for (const [i, entry] of manifest.contributions.entries()) {
      const record = onChain.get(entry.contributionId);
      const where = `contributions[${i}] (${entry.contributionId})`;
      if (!record) throw new JobDataError(`${where} was never contributed to Datanet ${job.datanetId}`);
      if (record.status !== "accepted") throw new JobDataError(`${where} is ${record.status}, not accepted, on-chain`);
      if (record.contributor.toLowerCase() !== entry.contributor.toLowerCase()) throw new JobDataError(`${where} names contributor ${entry.contributor}; the chain records ${record.contributor}`);
      if (record.digest.toLowerCase() !== entry.digest.toLowerCase()) throw new JobDataError(`${where} names digest ${entry.digest}; the chain records ${record.digest}`);
      if (record.number > version.lastContributionNumber) throw new JobDataError(`${where} is contribution number ${record.number}, after the version's last (${version.lastContributionNumber})`);
    }
    const contributors = new Set(manifest.contributions.map((c) => c.contributor.toLowerCase())).size;
    logger.info({ contributions: manifest.contributions.length, contributors }, "training set verified against the chain");
    return { root: version.root, contributions: manifest.contributions.length, bytes: fetched.bytes, contributors } satisfies VerifyOutput;
  };
}
