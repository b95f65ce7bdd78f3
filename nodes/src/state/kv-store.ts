/** A generic key/value table for small settings other modules keep (JSON values). */
import type { NodeDatabase } from "./database.ts";

export class KvStore {
  readonly #database: NodeDatabase;

  constructor(database: NodeDatabase) {
    this.#database = database;
  }

  get<T>(key: string): T | undefined {
    const row = this.#database.db.prepare("SELECT value FROM kv WHERE key = ?").get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  set(key: string, value: unknown): void {
    this.#database.db.prepare("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .run(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.#database.db.prepare("DELETE FROM kv WHERE key = ?").run(key);
  }
}
