import { WasmMemoryExhaustedError } from "../errors.ts";

const PAGE_BYTES = 65536;
/** Cache-line alignment: keeps SIMD loads of a row start from straddling lines. */
const ALIGN_BYTES = 64;

/**
 * A bump allocator over a shared WebAssembly.Memory. Buffers are handed out as Float32Array views and
 * live as long as the arena (the engine allocates its buffers up front, llm.c style, so nothing is
 * freed one by one). The memory grows as needed; views made before a growth stay valid because
 * shared memory never moves, but they keep pointing at the old, shorter SharedArrayBuffer object, so
 * ownership is decided by remembering every buffer object this memory has had.
 */
export class SharedArena {
  readonly memory: WebAssembly.Memory;
  #top: number;
  readonly #buffers = new WeakSet<ArrayBufferLike>();

  /** `baseBytes`: the first byte the arena may hand out (below it is reserved). */
  constructor(memory: WebAssembly.Memory, baseBytes: number) {
    this.memory = memory;
    this.#top = alignUp(baseBytes);
    this.#buffers.add(memory.buffer);
  }

  /** Bytes handed out so far, reserved prefix included. */
  get usedBytes(): number {
    return this.#top;
  }

  /** Reserves `bytes` zeroed bytes (fresh memory is zero and is never reused) and returns their address. */
  allocBytes(bytes: number): number {
    const address = this.#top;
    const end = alignUp(address + bytes);
    this.#ensureCapacity(end, bytes);
    this.#top = end;
    return address;
  }

  /** A zeroed Float32Array of `n` floats in the shared memory. */
  allocFloats(n: number): Float32Array {
    const address = this.allocBytes(n * Float32Array.BYTES_PER_ELEMENT);
    return this.floatsAt(address, n);
  }

  /** A view of `n` floats at `address`, on the memory's current buffer. */
  floatsAt(address: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, n);
  }

  /** The address of `view` in the shared memory, or undefined when it lives elsewhere. */
  addressOf(view: Float32Array): number | undefined {
    if (this.#buffers.has(view.buffer)) return view.byteOffset;
    if (view.buffer === this.memory.buffer) {
      this.#buffers.add(view.buffer);
      return view.byteOffset;
    }
    return undefined;
  }

  #ensureCapacity(endBytes: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (endBytes <= have) return;
    const pages = Math.ceil((endBytes - have) / PAGE_BYTES);
    try {
      this.memory.grow(pages);
    } catch (cause) {
      throw new WasmMemoryExhaustedError(
        `The wasm backend's shared memory cannot grow to ${endBytes} bytes (asked for ${requested} more); wasm32 memory is capped at 4 GiB.`,
        { requestedBytes: requested, usedBytes: this.#top, memoryBytes: have, cause },
      );
    }
    this.#buffers.add(this.memory.buffer);
  }
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / ALIGN_BYTES) * ALIGN_BYTES;
}
