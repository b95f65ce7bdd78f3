/**
 * The models this node serves: on-chain Models (ModelRegistry NFTs), each a LoRA adapter over a base model
 * the node holds. At start the node reads each model's provenance (base model, Datanet version, adapter and
 * attribution-index CIDs) and loads its base model into the engine; adapters load on the first request
 * (AdapterTiers) and span indexes on the first attribution. Terms (price, version) are read from the chain
 * when needed, never cached, so a price change applies at once.
 *
 * A request names a model as `tributary:<modelId>` or just `<modelId>`.
 */
import type { Address } from "viem";
import type { ProtocolChain } from "../chain/protocol.ts";
import type { Engine, ModelInfo } from "../engine/worker/index.ts";

export interface ServedModelConfig {
  modelId: bigint;
  /** The base model's folder; default: the node's `jobs.baseModels` entry for the model's base model id. */
  baseModelDir?: string;
  /** A local PEFT folder of the adapter instead of fetching `adapterCid` from IPFS. */
  adapterDir?: string;
  /** A local span index file (attribution/span-index-file.ts) instead of fetching `attributionIndexCid`. */
  spanIndexPath?: string;
}

export interface DeployedModel {
  /** The OpenAI `model` name: `tributary:<modelId>`. */
  name: string;
  modelId: bigint;
  baseModelId: bigint;
  /** The base model's name in the BaseModelCatalog. */
  baseModelName: string;
  /** Engine id of the loaded base model. */
  engineModel: string;
  /** Engine id of the adapter. */
  adapterId: string;
  base: ModelInfo;
  datanet: { id: bigint; version: number; root: `0x${string}` };
  adapterCid: string;
  attributionIndexCid: string;
  adapterDir?: string;
  spanIndexPath?: string;
  owner: Address;
}

export const modelName = (modelId: bigint): string => `tributary:${modelId}`;

export class DeploymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeploymentError";
  }
}

export class DeployedModels {
  readonly #models = new Map<string, DeployedModel>();

  readonly #engine: Engine;
  readonly #chain: ProtocolChain;
  readonly #baseModelDirs: ReadonlyMap<bigint, string>;
  readonly #contextLength: number | undefined;
  /** Base models loaded into the engine, by engine id (each loaded once, its first load shared while in flight). */
  readonly #bases = new Map<string, Promise<ModelInfo>>();

  private constructor(init: { chain: ProtocolChain; engine: Engine; baseModelDirs: ReadonlyMap<bigint, string>; contextLength?: number }) {
    this.#chain = init.chain;
    this.#engine = init.engine;
    this.#baseModelDirs = init.baseModelDirs;
    this.#contextLength = init.contextLength;
  }

  /** Reads each model's provenance and loads its base model into the engine (once per base model). */
  static async load(init: {
    chain: ProtocolChain; engine: Engine; models: readonly ServedModelConfig[]; baseModelDirs: ReadonlyMap<bigint, string>; contextLength?: number;
  }): Promise<DeployedModels> {
    const deployed = new DeployedModels(init);
    for (const m of await init.engine.models()) deployed.#bases.set(m.modelId, Promise.resolve(m));
    for (const served of init.models) await deployed.add(served);
    return deployed;
  }

  /**
   * Starts serving one more model (a model minted after the node started, say): reads its provenance and loads its
   * base model when it is not loaded yet. A model already served is left as it is.
   */
  async add(served: ServedModelConfig): Promise<DeployedModel> {
    const known = this.#models.get(modelName(served.modelId));
    if (known) return known;
    const provenance = await this.#chain.read("models", "getProvenance", [served.modelId]);
    const owner = await this.#chain.read("models", "ownerOf", [served.modelId]);
    const baseModel = await this.#chain.read("models", "getBaseModel", [provenance.baseModelId]);
    const dir = served.baseModelDir ?? this.#baseModelDirs.get(provenance.baseModelId);
    if (dir === undefined) {
      throw new DeploymentError(`model ${served.modelId} is an adapter of base model ${provenance.baseModelId} (${baseModel.name}), which this node does not hold: add it with --base-model ${provenance.baseModelId}=<dir>`);
    }
    const engineModel = `base-${provenance.baseModelId}`;
    let base = this.#bases.get(engineModel);
    if (base === undefined) {
      base = this.#engine.loadModel(engineModel, dir, this.#contextLength === undefined ? {} : { contextLength: this.#contextLength });
      this.#bases.set(engineModel, base);
      base.catch(() => this.#bases.delete(engineModel));
    }
    const model: DeployedModel = {
      name: modelName(served.modelId),
      modelId: served.modelId,
      baseModelId: provenance.baseModelId,
      baseModelName: baseModel.name,
      engineModel,
      adapterId: `model-${served.modelId}`,
      base: await base,
      datanet: { id: provenance.datanetId, version: Number(provenance.datanetVersion), root: provenance.datanetRoot },
      adapterCid: provenance.artifacts.adapterCid,
      attributionIndexCid: provenance.artifacts.attributionIndexCid,
      owner,
    };
    if (served.adapterDir !== undefined) model.adapterDir = served.adapterDir;
    if (served.spanIndexPath !== undefined) model.spanIndexPath = served.spanIndexPath;
    this.#models.set(model.name, model);
    return model;
  }

  /** The model a request names (`tributary:7` or `7`); undefined when this node does not serve it. */
  resolve(name: string): DeployedModel | undefined {
    if (/^[0-9]{1,78}$/.test(name)) return this.#models.get(modelName(BigInt(name)));
    return this.#models.get(name);
  }

  list(): DeployedModel[] {
    return [...this.#models.values()];
  }
}
