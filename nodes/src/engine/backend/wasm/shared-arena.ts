import { BufferOwnershipError, WasmMemoryExhaustedError } from "../errors.ts";

const PAGE_BYTES = 65536;
/** Cache-line alignment: keeps SIMD loads of a row start from straddling lines. */
const ALIGN_BYTES = 64;

/** Where an arena stands: what is lent out now, the most it ever spanned, and the memory behind it. */
export interface ArenaStats {
  /** Bytes in live allocations (rounded up to the alignment). */
  liveBytes: number;
  /** The highest end address ever handed out, reserved prefix included: what the memory had to grow to. */
  highWaterBytes: number;
  /** Bytes the shared memory holds now (wasm memory never shrinks). */
  memoryBytes: number;
  /** Live allocations. */
  liveBuffers: number;
  /** Freed ranges waiting for reuse (after coalescing). */
  freeRanges: number;
}

interface FreeRange {
  address: number;
  bytes: number;
}

/**
 * An allocator over a shared WebAssembly.Memory, handing out buffers as Float32Array views.
 * WebAssembly memory can grow but never shrink, so a long-lived engine must reuse what it frees:
 * freed ranges go on an address-ordered list, neighbours are merged, a range that reaches the top
 * lowers the top, and an allocation takes the smallest free range that fits (best fit) before it
 * grows the memory. An engine that cycles through the same mix of shapes therefore settles at a
 * fixed high-water mark instead of growing towards wasm32's 4 GiB.
 *
 * Views made before a growth stay valid because shared memory never moves, but they keep pointing
 * at the old, shorter SharedArrayBuffer object, so ownership is decided by remembering every buffer
 * object this memory has had.
 */
export class SharedArena {
  readonly memory: WebAssembly.Memory;
  readonly #base: number;
  #top: number;
  #highWater: number;
  #liveBytes = 0;
  readonly #live = new Map<number, number>();
  /** Sorted by address, never adjacent (adjacent ranges are merged), never touching the top. */
  readonly #free: FreeRange[] = [];
  readonly #buffers = new WeakSet<ArrayBufferLike>();

  /** The most bytes the memory may grow to (its maximum as created). */
  readonly maxBytes: number;

  /**
   * `baseBytes`: the first byte the arena may hand out (below it is reserved). `maxBytes`: the
   * memory's maximum, which `canAllocate` plans against (default wasm32's 4 GiB).
   */
  constructor(memory: WebAssembly.Memory, baseBytes: number, maxBytes = 65536 * PAGE_BYTES) {
    this.memory = memory;
    this.maxBytes = maxBytes;
    this.#base = alignUp(baseBytes);
    this.#top = this.#base;
    this.#highWater = this.#base;
    this.#buffers.add(memory.buffer);
  }

  /** The end of the highest live allocation (reserved prefix included). */
  get usedBytes(): number {
    return this.#top;
  }

  get stats(): ArenaStats {
    return {
      liveBytes: this.#liveBytes, highWaterBytes: this.#highWater, memoryBytes: this.memory.buffer.byteLength,
      liveBuffers: this.#live.size, freeRanges: this.#free.length,
    };
  }

  /** Reserves `bytes` zeroed bytes and returns their address; `free` gives them back. */
  allocBytes(bytes: number): number {
    const size = Math.max(ALIGN_BYTES, alignUp(bytes));
    const address = this.#takeFreeRange(size) ?? this.#bump(size, bytes);
    this.#live.set(address, size);
    this.#liveBytes += size;
    return address;
  }

  /**
   * Whether `bytes` fit (a freed range, or room below maxBytes) with `headroomBytes` still left
   * under the maximum afterwards. Growing can still fail when the system has no memory to give.
   */
  canAllocate(bytes: number, headroomBytes = 0): boolean {
    const size = Math.max(ALIGN_BYTES, alignUp(bytes));
    if (this.#free.some((range) => range.bytes >= size)) return true;
    return this.#top + size + headroomBytes <= this.maxBytes;
  }

  /** A zeroed Float32Array of `n` floats in the shared memory. */
  allocFloats(n: number): Float32Array {
    const address = this.allocBytes(n * Float32Array.BYTES_PER_ELEMENT);
    return this.floatsAt(address, n);
  }

  /**
   * Gives back the allocation that starts at `address`. Throws BufferOwnershipError when no live
   * allocation starts there (a double free, or a view into the middle of a buffer), because
   * reusing memory someone still reads would corrupt results silently.
   */
  free(address: number): void {
    const size = this.#live.get(address);
    if (size === undefined) {
      throw new BufferOwnershipError(`No live buffer of the wasm arena starts at byte ${address}: it was freed already or is a view into another buffer.`, { address });
    }
    this.#live.delete(address);
    this.#liveBytes -= size;
    this.#release(address, size);
  }

  /** Frees the buffer `view` was allocated as (it must start where the allocation starts). */
  freeFloats(view: Float32Array): void {
    const address = this.addressOf(view);
    if (address === undefined) throw new BufferOwnershipError("The buffer to free does not live in this wasm arena.", {});
    this.free(address);
  }

  /** Whether a live allocation starts at `address`. */
  isLive(address: number): boolean {
    return this.#live.has(address);
  }

  /** A view of `n` floats at `address`, on the memory's current buffer. */
  floatsAt(address: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, n);
  }

  /** The address of `view` in the shared memory, or undefined when it lives elsewhere. */
  addressOf(view: ArrayBufferView): number | undefined {
    if (this.#buffers.has(view.buffer)) return view.byteOffset;
    if (view.buffer === this.memory.buffer) {
      this.#buffers.add(view.buffer);
      return view.byteOffset;
    }
    return undefined;
  }

  /** Best fit among the freed ranges, split if larger, zeroed (freed memory holds old values). */
  #takeFreeRange(size: number): number | undefined {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const range = this.#free[i];
      if (range.bytes >= size && (best === -1 || range.bytes < this.#free[best].bytes)) {
        best = i;
        if (range.bytes === size) break;
      }
    }
    if (best === -1) return undefined;
    const range = this.#free[best];
    const address = range.address;
    if (range.bytes === size) this.#free.splice(best, 1);
    else {
      range.address += size;
      range.bytes -= size;
    }
    new Uint8Array(this.memory.buffer, address, size).fill(0);
    return address;
  }

  /** Memory at the top, growing the wasm memory when needed. */
  #bump(size: number, requested: number): number {
    const address = this.#top;
    const end = address + size;
    this.#ensureCapacity(end, requested);
    this.#top = end;
    // Below the high-water mark lies memory given back earlier, which still holds old values.
    if (address < this.#highWater) new Uint8Array(this.memory.buffer, address, Math.min(end, this.#highWater) - address).fill(0);
    if (end > this.#highWater) this.#highWater = end;
    return address;
  }

  #release(address: number, size: number): void {
    const free = this.#free;
    // First range after the freed one (binary search).
    let lo = 0;
    let hi = free.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (free[mid].address < address) lo = mid + 1;
      else hi = mid;
    }
    let start = address;
    let end = address + size;
    let at = lo;
    if (at > 0 && free[at - 1].address + free[at - 1].bytes === start) {
      at--;
      start = free[at].address;
      free.splice(at, 1);
    }
    if (at < free.length && free[at].address === end) {
      end = free[at].address + free[at].bytes;
      free.splice(at, 1);
    }
    if (end === this.#top) this.#top = start;
    else free.splice(at, 0, { address: start, bytes: end - start });
  }

  #ensureCapacity(endBytes: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (endBytes <= have) return;
    const pages = Math.ceil((endBytes - have) / PAGE_BYTES);
    try {
      this.memory.grow(pages);
    } catch (cause) {
      throw new WasmMemoryExhaustedError(
        `The wasm backend's shared memory cannot grow to ${endBytes} bytes (asked for ${requested} more): ${endBytes > this.maxBytes ? `its maximum is ${this.maxBytes} bytes (wasm32 caps a memory at 4 GiB)` : "the system refused the memory"}.`,
        { requestedBytes: requested, liveBytes: this.#liveBytes, memoryBytes: have, cause },
      );
    }
    this.#buffers.add(this.memory.buffer);
  }
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / ALIGN_BYTES) * ALIGN_BYTES;
}
