/** Base of the local-chain script's errors: a readable message plus the details that explain it. */
export class LocalChainError extends Error {
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The requested port is taken by another program. */
export class PortInUseError extends LocalChainError {
  constructor(port: number) {
    super(`Port ${port} on 127.0.0.1 is already in use: set PORT to a free port or stop the program holding it.`, { port });
  }
}

/** A port setting that is not an integer in 1..65535. */
export class InvalidPortError extends LocalChainError {
  constructor(value: string) {
    super(`PORT must be an integer between 1 and 65535, got "${value}".`, { value });
  }
}

/** The chain did not answer JSON-RPC in time. */
export class ChainStartTimeoutError extends LocalChainError {
  constructor(url: string, timeoutMs: number) {
    super(`The local chain at ${url} did not answer eth_chainId within ${timeoutMs} ms.`, { url, timeoutMs });
  }
}

/** The chain process ended before it was ready or while it was serving. */
export class ChainExitedError extends LocalChainError {
  constructor(code: number | null, signal: string | null, logFile: string) {
    super(`The local chain process exited (code ${code}, signal ${signal}); see ${logFile}.`, { code, signal, logFile });
  }
}
