/**
 * Loads a deployed model's adapter into the engine on demand, through three tiers: memory (already
 * registered with the engine, whose LRU adapter cache keeps the hot ones in the backend's memory), local
 * disk (`<dir>/<adapterCid>/`, a PEFT folder), then IPFS (the adapter artifact, verified by CID, written to
 * disk first so the next start finds it there). Concurrent requests for one adapter share one load.
 */
import { mkdir, rename, stat, writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "../engine/formats/peft-adapter.ts";
import type { Engine } from "../engine/worker/index.ts";
import type { ContentStore } from "../storage/content-store.ts";
import { fetchAdapterArtifact } from "./artifacts.ts";

export type AdapterTier = "memory" | "disk" | "ipfs";

export interface AdapterLocation {
  baseModel: string;
  adapterId: string;
  /** A PEFT folder the operator provides; else the adapter comes from `cid`. */
  dir?: string;
  cid?: string;
}

export class AdapterTiers {
  readonly #engine: Engine;
  readonly #store: ContentStore | undefined;
  readonly #diskDir: string;
  readonly #registered = new Set<string>();
  readonly #loading = new Map<string, Promise<AdapterTier>>();
  /** Loads served by each tier, for /metrics. */
  readonly loads: Record<AdapterTier, number> = { memory: 0, disk: 0, ipfs: 0 };

  constructor(init: { engine: Engine; store?: ContentStore; diskDir: string }) {
    this.#engine = init.engine;
    this.#store = init.store;
    this.#diskDir = init.diskDir;
  }

  /** Makes sure the engine can serve the adapter; resolves to the tier it came from. */
  async ensure(location: AdapterLocation): Promise<AdapterTier> {
    const key = `${location.baseModel}/${location.adapterId}`;
    if (this.#registered.has(key)) {
      this.loads.memory++;
      return "memory";
    }
    let loading = this.#loading.get(key);
    if (loading === undefined) {
      loading = this.#load(location).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
      const tier = await loading;
      this.#registered.add(key);
      this.loads[tier]++;
      return tier;
    }
    await loading;
    this.loads.memory++;
    return "memory";
  }

  async #load(location: AdapterLocation): Promise<AdapterTier> {
    if (location.dir !== undefined) {
      await this.#engine.registerAdapter(location.baseModel, location.adapterId, { dir: location.dir });
      return "disk";
    }
    if (location.cid === undefined) throw new Error(`adapter ${location.adapterId} has neither a folder nor a CID`);
    const dir = join(this.#diskDir, location.cid);
    if (await exists(join(dir, ADAPTER_WEIGHTS_FILE))) {
      await this.#engine.registerAdapter(location.baseModel, location.adapterId, { dir });
      return "disk";
    }
    if (this.#store === undefined) throw new Error(`adapter ${location.cid} is not on disk and the node has no content store`);
    const { adapterConfig, safetensors } = await fetchAdapterArtifact(this.#store, location.cid);
    // Registered from the bytes first (checked against the base model), then written to disk atomically.
    await this.#engine.registerAdapter(location.baseModel, location.adapterId, { adapterConfig, safetensors });
    const partial = `${dir}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    await writeFile(join(partial, ADAPTER_CONFIG_FILE), JSON.stringify(adapterConfig, null, 2));
    await writeFile(join(partial, ADAPTER_WEIGHTS_FILE), safetensors);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    return "ipfs";
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
