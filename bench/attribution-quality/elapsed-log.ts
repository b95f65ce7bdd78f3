/** A progress log for the long benchmarks: each line prefixed with the seconds since the logger was made. */
export function elapsedLog(started = performance.now()): (line: string) => void {
  return (line) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}
