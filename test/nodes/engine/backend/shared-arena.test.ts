import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createKernelMemory } from "../../../../nodes/src/engine/backend/wasm/kernel-module.ts";
import { SharedArena } from "../../../../nodes/src/engine/backend/wasm/shared-arena.ts";
import { StagingArea } from "../../../../nodes/src/engine/backend/wasm/staging-area.ts";
import { WasmMemoryExhaustedError } from "../../../../nodes/src/engine/backend/errors.ts";

describe("shared arena", () => {
  it("hands out zeroed, 64-byte aligned, non-overlapping views above the reserved prefix", () => {
    const arena = new SharedArena(createKernelMemory(1), 1000);
    const first = arena.allocFloats(3);
    const second = arena.allocFloats(5);
    assert.equal(first.byteOffset, 1024);
    assert.equal(second.byteOffset % 64, 0);
    assert.ok(second.byteOffset >= first.byteOffset + first.byteLength);
    assert.deepEqual([...second], [0, 0, 0, 0, 0]);
    first.fill(7);
    assert.deepEqual([...second], [0, 0, 0, 0, 0]);
  });

  it("grows the memory and still recognizes views made before the growth", () => {
    const memory = createKernelMemory(1);
    const arena = new SharedArena(memory, 0);
    const early = arena.allocFloats(16).fill(3);
    const big = arena.allocFloats(1 << 20);
    assert.ok(memory.buffer.byteLength >= big.byteOffset + big.byteLength);
    assert.notEqual(early.buffer, memory.buffer, "the early view keeps the pre-growth buffer object");
    assert.equal(arena.addressOf(early), early.byteOffset);
    assert.equal(arena.addressOf(big.subarray(10)), big.byteOffset + 40);
    assert.equal(arena.floatsAt(early.byteOffset, 16)[15], 3, "both views see the same memory");
    assert.equal(arena.addressOf(new Float32Array(4)), undefined);
    assert.equal(arena.addressOf(new Float32Array(new SharedArrayBuffer(16))), undefined);
  });

  it("throws WasmMemoryExhaustedError past wasm32's 4 GiB, with the sizes attached", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    assert.throws(() => arena.allocBytes(5 * 2 ** 30), (error: unknown) =>
      error instanceof WasmMemoryExhaustedError && error.details.requestedBytes === 5 * 2 ** 30);
  });
});

describe("staging area", () => {
  it("copies foreign buffers in, reuses its room, and grows by doubling", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    const staging = new StagingArea(arena);
    staging.begin(32);
    const copy = staging.place(Float32Array.of(1, 2, 3), true);
    const room = staging.place(Float32Array.of(9, 9), false);
    assert.deepEqual([...copy], [1, 2, 3]);
    assert.equal(room.byteOffset, copy.byteOffset + 12);
    assert.notEqual(arena.addressOf(copy), undefined);
    staging.begin(16);
    assert.equal(staging.place(Float32Array.of(5), true).byteOffset, copy.byteOffset, "room is reused");
    const before = arena.usedBytes;
    staging.begin(40);
    assert.ok(arena.usedBytes - before >= 64, "grew to at least twice the old room");
  });
});
