/**
 * A buffer handed to an engine op does not have the size its shapes imply. Carries the buffer's
 * name, the size the shapes require and the size it has, so the caller sees which shape is wrong.
 */
export class BufferSizeError extends Error {
  override name = "BufferSizeError";
  readonly details: { buffer: string; required: number; actual: number };

  constructor(buffer: string, required: number, actual: number) {
    super(`Buffer "${buffer}" holds ${actual} elements but its shape needs at least ${required}.`);
    this.details = { buffer, required, actual };
  }
}

/** A shape parameter that cannot work (a head count that does not divide, an odd head size for RoPE...). */
export class InvalidShapeError extends Error {
  override name = "InvalidShapeError";
  readonly details: Record<string, number>;

  constructor(message: string, details: Record<string, number>) {
    super(message);
    this.details = details;
  }
}

/** Throws a BufferSizeError unless `buffer` holds at least `required` elements. */
export function requireSize(name: string, buffer: ArrayLike<number>, required: number): void {
  if (buffer.length < required) throw new BufferSizeError(name, required, buffer.length);
}
