/**
 * Matmul throughput of the wasm backend on 1 and 2 threads (fused multiply-add build, and the plain
 * SIMD build whose results are identical on every host), against the machine's OpenBLAS from C.
 * Median of several timed runs after a warm-up (V8 runs wasm slower until it tiers up).
 *
 *   node bench/matmul/run.ts            # writes bench/out/matmul.md
 *
 * OpenBLAS: Debian's libopenblas-dev; without it the comparison column reads "not installed".
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { MatmulOptions } from "../../nodes/src/engine/backend/backend.ts";
import { createWasmBackend } from "../../nodes/src/engine/backend/wasm/wasm-backend.ts";

interface Shape {
  label: string;
  M: number;
  K: number;
  N: number;
  options: MatmulOptions;
}

const SHAPES: Shape[] = [
  { label: "1024³ (a·b)", M: 1024, K: 1024, N: 1024, options: {} },
  { label: "1024³ (a·bᵀ)", M: 1024, K: 1024, N: 1024, options: { transB: true } },
  { label: "1024³ (aᵀ·b)", M: 1024, K: 1024, N: 1024, options: { transA: true } },
  { label: "1024×256 · (768×256)ᵀ (linear forward)", M: 1024, K: 256, N: 768, options: { transB: true } },
  { label: "768×1024ᵀ · 1024×256 (linear weight grad)", M: 768, K: 1024, N: 256, options: { transA: true } },
  { label: "8×256 · (16384×256)ᵀ (generation, output layer)", M: 8, K: 256, N: 16384, options: { transB: true } },
];
const THREADS = [1, 2];
const WARMUP = 3;
const RUNS = 15;

const outDir = fileURLToPath(new URL("../out/", import.meta.url));

/** GFLOP/s of the median run and of the fastest one (what the machine gives when nothing else runs). */
interface Throughput {
  median: number;
  best: number;
  /** CPU time over wall time of the timed runs: how many cores this process actually got. */
  coresUsed?: number;
}

function throughput(flop: number, seconds: number[]): Throughput {
  const sorted = [...seconds].sort((x, y) => x - y);
  return { median: flop / sorted[Math.floor(sorted.length / 2)] / 1e9, best: flop / sorted[0] / 1e9 };
}

function fillRandom(buffer: Float32Array): Float32Array {
  for (let i = 0; i < buffer.length; i++) buffer[i] = Math.random() - 0.5;
  return buffer;
}

async function measureWasm(shape: Shape, threads: number, fusedMultiplyAdd: boolean): Promise<Throughput> {
  const backend = await createWasmBackend({ threads, fusedMultiplyAdd });
  try {
    const { M, K, N, options } = shape;
    // Inputs in the backend's own memory, so the timing includes no staging copies.
    const a = fillRandom(backend.alloc(M * K));
    const b = fillRandom(backend.alloc(K * N));
    const out = backend.alloc(M * N);
    for (let run = 0; run < WARMUP; run++) backend.matmul(out, a, b, M, K, N, options);
    const seconds: number[] = [];
    const cpuBefore = process.cpuUsage();
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      backend.matmul(out, a, b, M, K, N, options);
      seconds.push((performance.now() - start) / 1000);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return { ...throughput(2 * M * K * N, seconds), coresUsed: cpuSeconds / seconds.reduce((sum, value) => sum + value, 0) };
  } finally {
    await backend.dispose();
  }
}

/** Compiles the C harness if OpenBLAS is present; undefined when it is not. */
function buildOpenBlasHarness(): string | undefined {
  const binary = `${outDir}openblas-harness`;
  try {
    execFileSync("cc", ["-O2", fileURLToPath(new URL("./openblas.c", import.meta.url)), "-o", binary, "-lopenblas"], { stdio: "pipe" });
    return binary;
  } catch {
    return undefined;
  }
}

function measureOpenBlas(binary: string, shape: Shape, threads: number): Throughput {
  const { M, K, N, options } = shape;
  const args = [M, K, N, options.transA ? 1 : 0, options.transB ? 1 : 0, threads, WARMUP, RUNS].map(String);
  const [median, best] = execFileSync(binary, args, { encoding: "utf8" }).trim().split(" ").map(Number);
  return { median, best };
}

const format = (result: Throughput | undefined) => (result === undefined ? "n/a" : `${result.median.toFixed(1)} (${result.best.toFixed(1)})`);

mkdirSync(outDir, { recursive: true });
const loadBefore = loadavg()[0];
const harness = buildOpenBlasHarness();
if (harness === undefined) console.log("OpenBLAS not installed (apt-get install -y libopenblas-dev): comparison skipped.");

const rows: string[] = [];
for (const shape of SHAPES) {
  const fma = new Map<number, Throughput>();
  const plain = new Map<number, Throughput>();
  const blas = new Map<number, Throughput>();
  for (const threads of THREADS) {
    fma.set(threads, await measureWasm(shape, threads, true));
    plain.set(threads, await measureWasm(shape, threads, false));
    if (harness) blas.set(threads, measureOpenBlas(harness, shape, threads));
  }
  const ratio = (threads: number) => {
    const ours = fma.get(threads);
    const theirs = blas.get(threads);
    return ours && theirs ? `${(ours.median / theirs.median).toFixed(2)} (${(ours.best / theirs.best).toFixed(2)})` : "n/a";
  };
  const row = [
    shape.label,
    ...THREADS.map((threads) => format(fma.get(threads))),
    ...THREADS.map((threads) => format(plain.get(threads))),
    ...THREADS.map((threads) => (harness ? format(blas.get(threads)) : "not installed")),
    ...THREADS.map(ratio),
    (fma.get(2)?.coresUsed ?? 0).toFixed(2),
  ];
  rows.push(`| ${row.join(" | ")} |`);
  console.log(row.join("  "));
}

const loadAfter = loadavg()[0];
const markdown = `## Matmul kernels (wasm backend)

float32 GFLOP/s: median (best) of ${RUNS} runs after ${WARMUP} warm-up runs, measured by \`node bench/matmul/run.ts\`
on ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores), Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.
1-minute load average ${loadBefore.toFixed(1)} before the run and ${loadAfter.toFixed(1)} after: where it was well above the
benchmark's own load, other work shared the 2 cores and the 2-thread figures (ours and OpenBLAS's) understate a quiet machine.
"wasm FMA" is the default build (relaxed-SIMD fused multiply-add); "wasm plain" is the plain SIMD
build (separate multiply and add: bit-identical results on every host). OpenBLAS is Debian's
libopenblas (AVX-512 on this CPU) called from C (bench/matmul/openblas.c). The ratio is wasm FMA
over OpenBLAS at the same thread count (medians, and bests in parentheses). "cores got" is the CPU
time over the wall time of the 2-thread wasm FMA runs: near 2 the second core was ours, near 1 other
work held it and no 2-thread figure in that row can show scaling.

| shape | wasm FMA 1 thr | wasm FMA 2 thr | wasm plain 1 thr | wasm plain 2 thr | OpenBLAS 1 thr | OpenBLAS 2 thr | ratio 1 thr | ratio 2 thr | cores got (2 thr) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join("\n")}
`;
writeFileSync(`${outDir}matmul.md`, markdown);
console.log(`\nwrote ${outDir}matmul.md`);
