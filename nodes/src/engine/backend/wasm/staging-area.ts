import type { SharedArena } from "./shared-arena.ts";

/**
 * Room in the shared memory for copies of buffers that live outside it (the kernels can only
 * address the shared memory). It grows by doubling (giving back the old room) and is reused by every call, so a backend fed
 * foreign buffers settles at a fixed footprint.
 */
export class StagingArea {
  readonly #arena: SharedArena;
  #address = 0;
  #capacity = 0;
  #used = 0;

  constructor(arena: SharedArena) {
    this.#arena = arena;
  }

  /** Starts a call that will copy in at most `bytes` bytes; earlier copies may be overwritten. */
  begin(bytes: number): void {
    if (bytes > this.#capacity) {
      if (this.#capacity > 0) this.#arena.free(this.#address);
      this.#capacity = Math.max(bytes, 2 * this.#capacity);
      this.#address = this.#arena.allocBytes(this.#capacity);
    }
    this.#used = 0;
  }

  /** Copies `source` into the area (or only reserves room when `copy` is false); returns the copy's view. */
  place(source: Float32Array, copy: boolean): Float32Array {
    const address = this.#address + this.#used;
    this.#used += source.byteLength;
    const view = this.#arena.floatsAt(address, source.length);
    if (copy) view.set(source);
    return view;
  }
}
