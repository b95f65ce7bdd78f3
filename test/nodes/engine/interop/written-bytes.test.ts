import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { writeInteropFiles } from "./fixtures/interop-files.ts";

/**
 * The committed fixtures are the exact bytes Hugging Face's libraries loaded (fixtures/hf_golden.py). Writing
 * them again with today's writers must give the same bytes, or what HF proved loadable is no longer what we
 * write: then either a writer regressed, or the change is intended and the fixtures must be rewritten and
 * loaded in HF again (see fixtures/write-interop-files.ts and fixtures/hf_golden.py).
 */
const FIXTURES = join(import.meta.dirname, "fixtures");

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

test("the engine's writers still produce the files Hugging Face loaded, byte for byte", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tributary-interop-"));
  try {
    await writeInteropFiles(dir);
    const written = await filesUnder(dir);
    assert.ok(written.length >= 13, `expected the model, adapter and tokenizer files, got ${written.join(", ")}`);
    for (const file of written) {
      const fresh = await readFile(join(dir, file));
      const committed = await readFile(join(FIXTURES, file)).catch(() => undefined);
      assert.ok(committed !== undefined, `${file} is written but not committed in fixtures/: rerun write-interop-files.ts and hf_golden.py`);
      assert.ok(fresh.equals(committed), `${file} differs from the copy Hugging Face loaded (${fresh.length} vs ${committed.length} bytes): a writer changed its output; if intended, rerun write-interop-files.ts and hf_golden.py`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
