import { isHalfMatrix, type Backend, type HalfMatrix, type LoraSegment, type MatmulOptions, type WeightMatrix } from "./backend.ts";
import { MatmulShapeError } from "./errors.ts";
import { bf16ToF32, f16ToF32 } from "../formats/half-precision.ts";

/**
 * Plain TypeScript kernels: the readable reference every fast kernel is tested against, and the
 * fallback where WebAssembly threads are unavailable.
 */
export function matmulReference(
  out: Float32Array, a: Float32Array, bOperand: WeightMatrix, M: number, K: number, N: number,
  { transA = false, transB = false, accumulate = false }: MatmulOptions = {},
): void {
  if (isHalfMatrix(bOperand) && !transB) throw new MatmulShapeError("A half-precision b is supported with transB only (a weight in nn.Linear's layout).", {});
  const b = isHalfMatrix(bOperand) ? halfToFloat32(bOperand) : bOperand;
  if (!accumulate) out.fill(0, 0, M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const aik = transA ? a[k * M + i] : a[i * K + k];
      if (aik === 0) continue;
      const row = i * N;
      if (transB) {
        for (let j = 0; j < N; j++) out[row + j] += aik * b[j * K + k];
      } else {
        const bRow = k * N;
        for (let j = 0; j < N; j++) out[row + j] += aik * b[bRow + j];
      }
    }
  }
}

/** The float32 values of a half-precision matrix (exact: every bf16 and f16 value is a float32). */
export function halfToFloat32(matrix: HalfMatrix): Float32Array {
  return matrix.dtype === "bf16" ? bf16ToF32(matrix.bits) : f16ToF32(matrix.bits);
}

/** SGMV shrink, plainly: each row's r dot products of length IN, scaled. */
export function sgmvShrinkReference(u: Float32Array, x: Float32Array, segments: readonly LoraSegment[], IN: number, uStride: number): void {
  for (const { rowStart, rowEnd, factor, rank, scale } of segments) {
    for (let row = rowStart; row < rowEnd; row++) {
      for (let k = 0; k < rank; k++) {
        let sum = 0;
        for (let i = 0; i < IN; i++) sum += x[row * IN + i] * factor[k * IN + i];
        u[row * uStride + k] = Math.fround(sum) * scale;
      }
    }
  }
}

/** SGMV expand, plainly: each output is a dot product of length rank. */
export function sgmvExpandReference(out: Float32Array, u: Float32Array, segments: readonly LoraSegment[], OUT: number, uStride: number): void {
  for (const { rowStart, rowEnd, factor, rank } of segments) {
    for (let row = rowStart; row < rowEnd; row++) {
      for (let o = 0; o < OUT; o++) {
        let sum = 0;
        for (let k = 0; k < rank; k++) sum += u[row * uStride + k] * factor[o * rank + k];
        out[row * OUT + o] += sum;
      }
    }
  }
}

/** Buffers live on the JavaScript heap; `free` only keeps the byte count that memoryStats reports. */
export function createReferenceBackend(): Backend {
  const owned = new WeakSet<ArrayBufferView>();
  let liveBytes = 0;
  let highWaterBytes = 0;
  return {
    name: "reference",
    alloc(n) {
      const buffer = new Float32Array(n);
      owned.add(buffer);
      liveBytes += buffer.byteLength;
      highWaterBytes = Math.max(highWaterBytes, liveBytes);
      return buffer;
    },
    allocHalf(n, dtype) {
      const bits = new Uint16Array(n);
      owned.add(bits);
      liveBytes += bits.byteLength;
      highWaterBytes = Math.max(highWaterBytes, liveBytes);
      return { dtype, bits };
    },
    free(buffer) {
      const view = isHalfMatrix(buffer) ? buffer.bits : buffer;
      if (!owned.delete(view)) return;
      liveBytes -= view.byteLength;
    },
    memoryStats: () => ({ liveBytes, highWaterBytes, memoryBytes: liveBytes, memories: 1 }),
    matmul: matmulReference,
    sgmvShrink: sgmvShrinkReference,
    sgmvExpand: sgmvExpandReference,
    dispose: async () => {},
  };
}
