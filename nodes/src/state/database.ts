/**
 * The node's durable state: one SQLite database (node:sqlite) in write-ahead-log mode under the data dir.
 * Every change a handler makes goes through `transaction`, so a crash leaves either all of a step or none.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS } from "./migrations.ts";

export class StateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StateError";
  }
}

export class NodeDatabase {
  readonly db: DatabaseSync;
  readonly path: string;
  #depth = 0;

  private constructor(db: DatabaseSync, path: string) {
    this.db = db;
    this.path = path;
  }

  /** Opens (creating if needed) the database at `path` and brings its schema up to date. */
  static open(path: string): NodeDatabase {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (error) {
      throw new StateError(`cannot open the node database ${path}: ${(error as Error).message}`, { cause: error });
    }
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
    const database = new NodeDatabase(db, path);
    database.#migrate();
    return database;
  }

  get schemaVersion(): number {
    return Number((this.db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  }

  #migrate(): void {
    const current = this.schemaVersion;
    if (current > MIGRATIONS.length) {
      throw new StateError(`${this.path} has schema version ${current}, newer than this node (${MIGRATIONS.length}): upgrade tributary-node`);
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[version - 1]);
        this.db.exec(`PRAGMA user_version = ${version}`);
      });
    }
  }

  /** Runs `fn` in one transaction (nested calls join the outer one); rolls back if it throws. */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    } finally {
      this.#depth--;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
