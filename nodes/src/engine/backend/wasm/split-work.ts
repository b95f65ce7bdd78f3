/** A rectangle of the output matrix: rows [r0, r1) x columns [c0, c1). */
export interface OutputBlock {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** How out[M, N] is cut into chunks that threads claim one at a time. */
export interface ChunkPlan {
  /** Cut along rows (each chunk spans all columns) or along columns. */
  byRows: boolean;
  /** Rows (or columns) per chunk; the last chunk may be shorter. */
  chunkSize: number;
  count: number;
}

/** Chunks per thread: enough that a thread slowed by a busy machine is made up for by the others. */
const CHUNKS_PER_THREAD = 4;
/**
 * Every row chunk repacks its slice of b, which costs about as much as computing a few rows, so
 * chunks stay at least this tall; a column chunk packs only its own columns of b, so it has no
 * such cost and only needs to be a few tiles wide.
 */
const MIN_CHUNK_ROWS = 48;
const MIN_CHUNK_COLS = 64;
/** The claim word of the pool protocol has 12 bits for the chunk index. */
export const MAX_CHUNKS = 4095;

/**
 * Plans the chunks of out[M, N] for `threads` threads. Cuts fall on register-tile boundaries
 * (tileRows x tileCols). Rows are cut when there are at least as many row tiles as column tiles
 * (training shapes: many tokens), columns otherwise (generation: a few tokens times a wide layer).
 */
export function planChunks(M: number, N: number, threads: number, tileRows: number, tileCols: number): ChunkPlan {
  const byRows = Math.ceil(M / tileRows) >= Math.ceil(N / tileCols);
  const extent = byRows ? M : N;
  if (extent === 0 || (byRows ? N : M) === 0) return { byRows, chunkSize: Math.max(extent, 1), count: 0 };
  const tile = byRows ? tileRows : tileCols;
  const minimum = byRows ? MIN_CHUNK_ROWS : MIN_CHUNK_COLS;
  const wanted = Math.max(Math.ceil(extent / (threads * CHUNKS_PER_THREAD)), minimum, Math.ceil(extent / MAX_CHUNKS));
  const chunkSize = Math.ceil(wanted / tile) * tile;
  return { byRows, chunkSize, count: Math.ceil(extent / chunkSize) };
}

/** The block of out[M, N] that chunk `index` of `plan` covers. */
export function chunkBlock(plan: ChunkPlan, index: number, M: number, N: number): OutputBlock {
  const start = index * plan.chunkSize;
  if (plan.byRows) return { r0: start, r1: Math.min(M, start + plan.chunkSize), c0: 0, c1: N };
  return { r0: 0, r1: M, c0: start, c1: Math.min(N, start + plan.chunkSize) };
}
