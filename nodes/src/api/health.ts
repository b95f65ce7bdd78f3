/** Health checks other modules add (chain, storage, ...); `/health` reports them all. */

export interface HealthResult {
  ok: boolean;
  [detail: string]: unknown;
}

export type HealthCheck = () => HealthResult | Promise<HealthResult>;

export class HealthChecks {
  readonly #checks = new Map<string, HealthCheck>();

  add(name: string, check: HealthCheck): void {
    if (this.#checks.has(name)) throw new Error(`a health check named "${name}" is already registered`);
    this.#checks.set(name, check);
  }

  async report(): Promise<{ status: "ok" | "degraded"; checks: Record<string, HealthResult> }> {
    const checks: Record<string, HealthResult> = {};
    for (const [name, check] of this.#checks) {
      try {
        checks[name] = await check();
      } catch (error) {
        checks[name] = { ok: false, error: (error as Error).message };
      }
    }
    return { status: Object.values(checks).every((c) => c.ok) ? "ok" : "degraded", checks };
  }
}
