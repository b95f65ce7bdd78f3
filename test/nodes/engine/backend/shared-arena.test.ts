import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createKernelMemory } from "../../../../nodes/src/engine/backend/wasm/kernel-module.ts";
import { SharedArena } from "../../../../nodes/src/engine/backend/wasm/shared-arena.ts";
import { StagingArea } from "../../../../nodes/src/engine/backend/wasm/staging-area.ts";
import { BufferOwnershipError, WasmMemoryExhaustedError } from "../../../../nodes/src/engine/backend/errors.ts";

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

describe("shared arena: giving memory back", () => {
  it("reuses a freed buffer's room, zeroed, for a later allocation of the same size or smaller", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    const first = arena.allocFloats(100).fill(5);
    const keep = arena.allocFloats(10);
    arena.freeFloats(first);
    const again = arena.allocFloats(60);
    assert.equal(again.byteOffset, first.byteOffset, "best fit takes the freed range");
    assert.ok(again.every((x) => x === 0), "reused memory is zeroed");
    const rest = arena.allocFloats(30);
    assert.equal(rest.byteOffset, first.byteOffset + 256, "the remainder of the split range is used next");
    assert.ok(keep.byteOffset > rest.byteOffset);
  });

  it("merges neighbouring free ranges and lowers the top when the highest buffer goes", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    const a = arena.allocFloats(16), b = arena.allocFloats(16), c = arena.allocFloats(16);
    arena.freeFloats(a);
    arena.freeFloats(b);
    assert.equal(arena.stats.freeRanges, 1, "a and b merged");
    arena.freeFloats(c);
    assert.equal(arena.stats.freeRanges, 0, "all merged into the top");
    assert.equal(arena.usedBytes, 0);
    assert.equal(arena.stats.liveBytes, 0);
    assert.equal(arena.stats.highWaterBytes, 192);
    const big = arena.allocFloats(48);
    assert.equal(big.byteOffset, 0, "the whole span is one range again");
    assert.equal(arena.stats.highWaterBytes, 192);
  });

  it("zeroes memory given back to the top before handing it out again", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    const a = arena.allocFloats(32).fill(9);
    arena.freeFloats(a);
    const b = arena.allocFloats(64);
    assert.ok(b.every((x) => x === 0));
  });

  it("refuses a double free and a view into the middle of a buffer", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    const a = arena.allocFloats(32);
    assert.throws(() => arena.freeFloats(a.subarray(4)), BufferOwnershipError);
    arena.freeFloats(a);
    assert.throws(() => arena.freeFloats(a), BufferOwnershipError);
    assert.throws(() => arena.freeFloats(new Float32Array(4)), BufferOwnershipError);
  });

  it("stays flat over many rounds of mixed sizes freed in any order", () => {
    const arena = new SharedArena(createKernelMemory(1), 0);
    const sizes = [100, 3000, 17, 640, 5000, 1, 256, 999];
    let afterWarmUp = 0;
    for (let round = 0; round < 1000; round++) {
      const buffers = sizes.map((n, i) => arena.allocFloats(n + ((round + i) % 3)));
      // Free in an order that changes from round to round.
      for (let i = 0; i < buffers.length; i++) arena.freeFloats(buffers[(i * 3 + round) % buffers.length]);
      if (round === 9) afterWarmUp = arena.stats.highWaterBytes;
    }
    assert.equal(arena.stats.liveBytes, 0);
    assert.equal(arena.stats.highWaterBytes, afterWarmUp);
  });
});

describe("staging area", () => {
  it("copies foreign buffers in, reuses its room, and grows by doubling, giving back the old room", () => {
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
    staging.begin(40);
    assert.equal(staging.place(new Float32Array(10), false).length, 10);
    assert.equal(arena.stats.liveBytes, 64, "grew to twice the old room (32 bytes), the old room given back");
    staging.begin(1000);
    assert.equal(arena.stats.liveBytes, 1024, "one room at a time");
    assert.equal(arena.stats.liveBuffers, 1);
  });
});
