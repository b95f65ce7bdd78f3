import { join } from "node:path";
import { loadPeftAdapter } from "../formats/peft-adapter.ts";
import type { LlamaConfig } from "../model/config.ts";
import { fromPeftLayers } from "../lora/peft-layers.ts";
import type { AdapterLoader } from "./adapter-cache.ts";
import { AdapterLoadError } from "./errors.ts";

/** Adapter ids name folders: letters, digits, '.', '_' and '-', and never '.' or '..', so an id cannot leave the directory. */
const ADAPTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The disk tier of adapter storage: `${directory}/${adapterId}/` is a PEFT adapter folder
 * (adapter_config.json + adapter_model.safetensors), read and checked against the base model by
 * formats/peft-adapter.ts. Plug it into an AdapterCache as its loader; an IPFS tier can wrap it
 * (fetch the folder into `directory` on a miss, then call it).
 */
export function createDiskAdapterLoader(directory: string, base: LlamaConfig): AdapterLoader {
  return async (adapterId) => {
    if (!ADAPTER_ID.test(adapterId) || adapterId.includes("..")) {
      throw new AdapterLoadError(adapterId, "an adapter id may hold only letters, digits, '.', '_' and '-', and may not start with '.'");
    }
    return fromPeftLayers(await loadPeftAdapter(join(directory, adapterId), base));
  };
}

