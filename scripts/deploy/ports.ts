import { createServer } from "node:net";
import { InvalidPortError, PortInUseError } from "./errors.ts";

const HOST = "127.0.0.1";

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A port the OS reports free on 127.0.0.1. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The port to serve on: `requested` (from $PORT) when given, which must be free; otherwise `preferred`
 * when free, else any free port, because other programs on a shared machine may hold the preferred one.
 */
export async function choosePort(requested: string | undefined, preferred: number): Promise<number> {
  if (requested !== undefined && requested !== "") {
    const port = Number(requested);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new InvalidPortError(requested);
    if (!(await isPortFree(port))) throw new PortInUseError(port);
    return port;
  }
  return (await isPortFree(preferred)) ? preferred : findFreePort();
}
