// Blocking and tile sizes shared by the matmul kernels (see matmul.ts for how they fit together).

// Rows of the register tile. With fused multiply-add the 6 x 8 tile takes 12 accumulators, 2 B vectors and
// 1 broadcast A: 15 of x64's 16 vector registers. Without it every step needs a register for the product
// (a*b, then + c), the 16th, and V8 spills: the plain build ran at half the FMA build's speed (15 against
// 34 GFLOP/s per thread) and at about the same speed as FMA with a 4 x 8 tile (8 accumulators), which
// it uses. The tile shape does not change the order any output element is summed in, so the plain
// build's results are the same bits with either shape.
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 96;
export const NC: i32 = 512;

export const F32: i32 = 4;
/** At most this many rows (token generation: a few sequences) take the unpacked path... */
export const FEW_ROWS: i32 = 8;
/** ...whose copies of the rows of op(a) must fit in the thread's scratch. */
export const FEW_ROWS_MAX_K: i32 = (MC * KC + KC * NC) / FEW_ROWS;
