// Deterministic accounts for the gas bench: the same keys on every run, so calldata (and with it each
// row's gas) is the same from run to run and a contract change can be compared to the gas.
import { keccak256, toHex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

/** Returns a generator of local accounts whose keys are keccak256("<seed>/<n>") for n = 0, 1, 2... */
export function seededAccounts(seed: string): () => PrivateKeyAccount {
  let next = 0;
  return () => privateKeyToAccount(keccak256(toHex(`${seed}/${next++}`)));
}
