/**
 * The node's routes that put the CLI's and dApp's documents on IPFS, each checked before anything is stored:
 *
 *   POST /v1/datanets/metadata            { name, description? } → 201 { cid }: a Datanet's description
 *                                         (`createDatanet`'s metadataCid)
 *   POST /v1/hyperparameters              a hyper-parameters document → 201 { cid }: a job's hyperParamsCid
 *   POST /v1/datanets/:datanetId/manifest → 201 { cid, root, contributionCount, lastContributionNumber, manifest }:
 *                                         the version manifest over the chain's accepted contributions, stored and
 *                                         pinned; the curator checks it and publishes the root on-chain
 *
 * Errors are `{ error: { code, message, field } }` with a 4xx naming the field.
 */
import type { FastifyInstance } from "fastify";
import type { ProtocolChain } from "../chain/protocol.ts";
import { listContributions, versionBounds } from "../datanets/chain-contributions.ts";
import { DatanetDataError } from "../datanets/errors.ts";
import { publishVersionManifest } from "../datanets/version-manifest.ts";
import { InvalidHyperparametersError, validateHyperparameters } from "../jobs/hyperparameters.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { ContentUnavailableError } from "../storage/errors.ts";
import { ApiError } from "./errors.ts";

export const DATANET_METADATA_FORMAT = "tributary.datanet-metadata/1";

export interface DatanetMetadata {
  format: typeof DATANET_METADATA_FORMAT;
  name: string;
  description?: string;
}

/** Checks a Datanet description; throws an ApiError naming the field. */
export function validateDatanetMetadata(body: unknown): DatanetMetadata {
  const value = (body ?? {}) as Record<string, unknown>;
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "invalid_metadata", "Send a JSON object { name, description? }.", "body");
  for (const key of Object.keys(value)) {
    if (!["name", "description"].includes(key)) throw new ApiError(400, "invalid_metadata", `${key} is not a Datanet metadata field (name, description).`, key);
  }
  if (typeof value.name !== "string" || value.name.trim() === "" || value.name.length > 200) {
    throw new ApiError(400, "invalid_metadata", "name must be a non-empty string of at most 200 characters.", "name");
  }
  if (value.description !== undefined && (typeof value.description !== "string" || value.description.length > 10_000)) {
    throw new ApiError(400, "invalid_metadata", "description must be a string of at most 10,000 characters.", "description");
  }
  return { format: DATANET_METADATA_FORMAT, name: value.name.trim(), ...(value.description === undefined ? {} : { description: value.description as string }) };
}

export interface DatanetRouteDeps {
  store: ContentStore;
  chain: ProtocolChain;
  /** First block the registry's events can be in (the deployment block). */
  fromBlock: bigint;
}

export function datanetRoutes(deps: DatanetRouteDeps) {
  return (app: FastifyInstance): void => {
    app.post("/v1/datanets/metadata", async (request, reply) => {
      const metadata = validateDatanetMetadata(request.body);
      const cid = await deps.store.addJson(metadata);
      return reply.code(201).send({ cid: cid.toString(), metadata });
    });

    app.post("/v1/hyperparameters", async (request, reply) => {
      let hyperparameters;
      try {
        hyperparameters = validateHyperparameters(request.body);
      } catch (error) {
        if (error instanceof InvalidHyperparametersError) throw new ApiError(400, "invalid_hyperparameters", error.message, error.field);
        throw error;
      }
      const cid = await deps.store.addJson(hyperparameters);
      return reply.code(201).send({ cid: cid.toString(), hyperparameters });
    });

    app.post<{ Params: { datanetId: string } }>("/v1/datanets/:datanetId/manifest", async (request, reply) => {
      if (!/^[1-9]\d{0,77}$/.test(request.params.datanetId)) {
        throw new ApiError(400, "invalid_datanet_id", `datanetId must be a positive integer, got "${request.params.datanetId}"`, "datanetId");
      }
      const datanetId = BigInt(request.params.datanetId);
      const datanet = await deps.chain.read("datanets", "getDatanet", [datanetId]).catch(() => {
        throw new ApiError(404, "datanet_not_found", `Datanet ${datanetId} does not exist on this chain.`, "datanetId");
      });
      const accepted = (await listContributions(deps.chain, datanetId, deps.fromBlock)).filter((c) => c.status === "accepted");
      if (accepted.length === 0) throw new ApiError(409, "nothing_accepted", `Datanet ${datanetId} has no accepted contributions to publish; accept some first.`, "datanetId");
      try {
        const { manifest, cid, root } = await publishVersionManifest({ datanetId, licence: datanet.licence, contributions: accepted }, deps.store);
        return reply.code(201).send({ cid: cid.toString(), root, ...versionBounds(accepted), manifest });
      } catch (error) {
        if (error instanceof DatanetDataError) throw new ApiError(422, error.code, error.message, error.field);
        if (error instanceof ContentUnavailableError) throw new ApiError(424, "content_unavailable", `A contribution's metadata is not available to this node: ${error.message}`, "metadataCid");
        throw error;
      }
    });
  };
}
