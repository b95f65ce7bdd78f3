// Blocking and tile sizes shared by the matmul kernels (see matmul.ts for how they fit together).

export const MR: i32 = 6;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 96;
export const NC: i32 = 512;

export const F32: i32 = 4;
/** At most this many rows (token generation: a few sequences) take the unpacked path... */
export const FEW_ROWS: i32 = 8;
/** ...whose copies of the rows of op(a) must fit in the thread's scratch. */
export const FEW_ROWS_MAX_K: i32 = (MC * KC + KC * NC) / FEW_ROWS;
