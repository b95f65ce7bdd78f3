/** Base of the chain layer's errors: a readable message plus the details that explain it. */
export class ChainError extends Error {
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/**
 * A contract call or transaction reverted. `message` says why in words
 * ("ModelRegistry reverted: JobNotOpen(jobId=3, status=2)"); `errorName` and `args` are the decoded custom error.
 */
export class ContractRevertError extends ChainError {
  readonly contract: string;
  readonly errorName: string | undefined;
  readonly args: Readonly<Record<string, unknown>>;
  readonly txHash: string | undefined;

  constructor(init: { contract: string; errorName?: string; args?: Record<string, unknown>; reason: string; txHash?: string; cause?: unknown }) {
    super(`${init.contract} reverted: ${init.reason}`, { contract: init.contract, errorName: init.errorName, txHash: init.txHash }, { cause: init.cause });
    this.contract = init.contract;
    this.errorName = init.errorName;
    this.args = init.args ?? {};
    this.txHash = init.txHash;
  }
}

/** A transaction was sent but no receipt came within the time allowed, even after fee bumps. */
export class TransactionTimeoutError extends ChainError {}
