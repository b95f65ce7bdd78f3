/**
 * A registry read for the verifier: one call per key (records of a batch name the same Datanet version or model
 * again and again), a revert (the registry's custom error for an id it does not know) answered as undefined, and
 * any other failure (the RPC) passed on and not cached, so the next record asks again.
 */
import { BaseError, ContractFunctionRevertedError } from "viem";

export function cachedRegistryRead<K, V>(read: (key: K) => Promise<V>): (key: K, cacheKey: string) => Promise<V | undefined> {
  const cache = new Map<string, Promise<V | undefined>>();
  return (key, cacheKey) => {
    let entry = cache.get(cacheKey);
    if (!entry) {
      entry = read(key).catch((error: unknown) => {
        if (error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError)) return undefined;
        cache.delete(cacheKey);
        throw error;
      });
      cache.set(cacheKey, entry);
    }
    return entry;
  };
}
