/**
 * The operator's private key file: `<dataDir>/operator.key`, one 0x-prefixed hex key, readable by its owner only.
 * Created on first start so a fresh node has an identity; refused when other users can read it.
 */
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generatePrivateKey } from "viem/accounts";
import type { Hex } from "viem";

export type KeyFileResult = { ok: true; key: Hex; created: boolean } | { ok: false; message: string };

export async function readOrCreateKeyFile(path: string): Promise<KeyFileResult> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return { ok: false, message: `cannot read ${path}: ${(error as Error).message}` };
    const key = generatePrivateKey();
    await mkdir(dirname(path), { recursive: true });
    // "wx": never overwrite a key another process created meanwhile.
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: "wx" });
    await chmod(path, 0o600); // the umask may have narrowed the mode; make it exact.
    return { ok: true, key, created: true };
  }
  if ((mode & 0o077) !== 0) {
    return { ok: false, message: `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${path}\`` };
  }
  const text = (await readFile(path, "utf8")).trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) return { ok: false, message: `${path} must hold one 0x-prefixed 32-byte hex private key` };
  return { ok: true, key: text as Hex, created: false };
}
