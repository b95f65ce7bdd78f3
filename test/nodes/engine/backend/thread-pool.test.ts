import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { KernelWorkerError } from "../../../../nodes/src/engine/backend/errors.ts";
import { createKernelMemory, instantiateKernels, loadKernelModule } from "../../../../nodes/src/engine/backend/wasm/kernel-module.ts";
import { SharedArena } from "../../../../nodes/src/engine/backend/wasm/shared-arena.ts";
import { KernelThreadPool } from "../../../../nodes/src/engine/backend/wasm/thread-pool.ts";

describe("kernel thread pool", () => {
  // In child processes: a lost wake-up blocks the thread for good, which only a kill can end.
  it("serves thousands of back-to-back pooled dispatches, idle gaps and quick disposes without hanging", () => {
    const result = runFixture("dispatch-stress.ts", "5000");
    assert.equal(result.signal, null, "the stress run hung and was killed");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /ok 5000/);
  });

  it("reports a kernel that traps as KernelWorkerError with the message, and stays usable", async () => {
    const { module } = await loadKernelModule();
    const memory = createKernelMemory();
    const callerKernels = instantiateKernels(module, memory);
    const arena = new SharedArena(memory, 65536);
    const scratch = () => arena.allocBytes(callerKernels.scratchBytes());
    const pool = await KernelThreadPool.start({ module, memory, callerKernels, callerScratch: scratch(), workerScratch: [scratch()] });
    try {
      const [M, K, N] = [96, 8, 8];
      const a = arena.allocFloats(M * K).fill(1);
      const b = arena.allocFloats(K * N).fill(2);
      const out = arena.allocFloats(M * N);
      const plan = { byRows: true, chunkSize: 48, count: 2 };
      // An address past the end of the shared memory makes every chunk's kernel trap.
      assert.throws(() => pool.run({ out: out.byteOffset, a: a.byteOffset, b: 0x7ff00000, M, K, N, flags: 0, plan }), (error: unknown) =>
        error instanceof KernelWorkerError && /out of bounds/.test(String(error.details.causes)));
      pool.run({ out: out.byteOffset, a: a.byteOffset, b: b.byteOffset, M, K, N, flags: 0, plan });
      assert.deepEqual([...out], new Array(M * N).fill(16));
    } finally {
      await pool.dispose();
    }
  });

  it("does not keep the process alive when a script forgets dispose()", () => {
    const result = runFixture("forgets-dispose.ts");
    assert.equal(result.signal, null, "the child had to be killed: the workers kept it alive");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /computed 2\b/);
  });
});

function runFixture(name: string, ...args: string[]) {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return spawnSync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 60_000 });
}
