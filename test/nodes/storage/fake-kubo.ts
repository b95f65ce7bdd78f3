/**
 * A test fake of the few Kubo RPC endpoints the Kubo store uses (no Kubo binary can be installed
 * here): block/put, block/get, block/stat, block/rm, pin/add, pin/rm, pin/ls, repo/gc. It is a unit
 * fake, not a Kubo: pins protect only the pinned block itself (Kubo walks the DAG), and "the network"
 * is a map of blocks that a non-offline block/get may return, standing in for Kubo's swarm.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CID } from "multiformats/cid";
import { sha256 } from "multiformats/hashes/sha2";

const CODECS: Record<string, number> = { raw: 0x55, "dag-pb": 0x70, json: 0x0200, "dag-cbor": 0x71, "dag-json": 0x0129 };

export class FakeKubo {
  readonly blocks = new Map<string, { cid: CID; bytes: Uint8Array }>();
  /** Blocks "other IPFS nodes" hold: a block/get that is not offline finds them. */
  readonly network = new Map<string, Uint8Array>();
  readonly pins = new Set<string>();
  readonly calls: string[] = [];
  #server: Server | undefined;

  static key(cid: CID): string {
    return CID.createV1(0x55, cid.multihash).toString();
  }

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err) => fail(res, 500, (err as Error).message));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** Flips a byte of a stored block, as a failing disk or a lying daemon would. */
  corrupt(cid: CID): void {
    const block = this.blocks.get(FakeKubo.key(cid))!;
    block.bytes = block.bytes.slice();
    block.bytes[0] ^= 0xff;
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    const command = url.pathname.replace(/^\/api\/v0\//, "");
    this.calls.push(command);
    const arg = url.searchParams.get("arg");
    const offline = url.searchParams.get("offline") === "true";
    const body = await readBody(req);
    const find = (cidText: string) => {
      const cid = CID.parse(cidText);
      const local = this.blocks.get(FakeKubo.key(cid));
      if (local) return local.bytes;
      const remote = offline ? undefined : this.network.get(FakeKubo.key(cid));
      if (remote) {
        this.blocks.set(FakeKubo.key(cid), { cid, bytes: remote });
        return remote;
      }
      return undefined;
    };
    switch (command) {
      case "block/put": {
        const form = await new Request("http://fake", { method: "POST", headers: { "content-type": req.headers["content-type"]! }, body }).formData();
        const file = [...form.values()][0] as Blob;
        const bytes = new Uint8Array(await file.arrayBuffer());
        const codec = CODECS[url.searchParams.get("cid-codec") ?? "raw"];
        const cid = CID.createV1(codec, await sha256.digest(bytes));
        this.blocks.set(FakeKubo.key(cid), { cid, bytes });
        return json(res, { Key: cid.toString(), Size: bytes.byteLength });
      }
      case "block/get": {
        const bytes = find(arg!);
        if (!bytes) return fail(res, 500, `block was not found locally (offline): ipld: could not find ${arg}`);
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end(bytes);
      }
      case "block/stat": {
        const bytes = find(arg!);
        if (!bytes) return fail(res, 500, `block was not found locally (offline): ipld: could not find ${arg}`);
        return json(res, { Key: arg, Size: bytes.byteLength });
      }
      case "block/rm": {
        const lines = url.searchParams.getAll("arg").map((text) => {
          const existed = this.blocks.delete(FakeKubo.key(CID.parse(text)));
          return JSON.stringify(existed ? { Hash: text } : { Hash: text, Error: "block not found" });
        });
        return ndjson(res, lines);
      }
      case "pin/add": {
        if (!find(arg!)) return fail(res, 500, `pin: block ${arg} not found`);
        this.pins.add(CID.parse(arg!).toString());
        return json(res, { Pins: [arg] });
      }
      case "pin/rm": {
        if (!this.pins.delete(CID.parse(arg!).toString())) return fail(res, 500, "not pinned or pinned indirectly");
        return json(res, { Pins: [arg] });
      }
      case "pin/ls":
        return ndjson(res, [...this.pins].map((cid) => JSON.stringify({ Cid: cid, Type: "recursive" })));
      case "repo/gc": {
        const pinned = new Set([...this.pins].map((text) => FakeKubo.key(CID.parse(text))));
        const removed: string[] = [];
        for (const [key, block] of this.blocks) {
          if (pinned.has(key)) continue;
          this.blocks.delete(key);
          removed.push(JSON.stringify({ Key: { "/": block.cid.toString() } }));
        }
        return ndjson(res, removed);
      }
      default:
        return fail(res, 404, `404 page not found: ${command}`);
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, value: unknown) {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

function ndjson(res: ServerResponse, lines: string[]) {
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  res.end(lines.map((line) => `${line}\n`).join(""));
}

function fail(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ Message: message, Code: 0, Type: "error" }));
}
