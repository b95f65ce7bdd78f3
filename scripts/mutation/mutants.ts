/**
 * The mutants `npm run test:mutation` (scripts/mutation/run.ts) runs: each removes one guard of a money path, and
 * the contract tests must notice. A mutant is the exact source text to find in one file (it must occur exactly
 * once) and what replaces it, plus the test files that should kill it (mocha `*.test.ts` and Solidity `*.t.sol`
 * under test/contracts/; only those run, without coverage, so the whole table runs in minutes).
 *
 * Updating: when a guard's line changes, copy the new line into `find` verbatim (whitespace inside the line
 * matters, indentation before it does not need to be included) and write `replace` so that only the guard
 * disappears. The run fails with "snippet not found" until the table matches the contracts again: a guard that
 * moved is never silently left unchecked. A guard that was removed on purpose is removed from this table in the
 * same change.
 */
export interface Mutant {
  /** Short, stable name, used on the command line to run a subset. */
  id: string;
  /** The guard the mutant removes and what an attacker would gain without it. */
  guard: string;
  /** Contract source file, relative to the repository root. */
  file: string;
  /** Exact source text, found exactly once in `file`. */
  find: string;
  /** What the mutant puts in its place. */
  replace: string;
  /** Test files (relative to the repository root) expected to fail on the mutant. */
  tests: string[];
}

const SETTLEMENT_TESTS = "test/contracts/settlement";
const invariants = `${SETTLEMENT_TESTS}/SettlementInvariants.t.sol`;

export const MUTANTS: Mutant[] = [
  {
    id: "claims-exceed-credited",
    guard: "claims of a node never exceed what its final root credited (ClaimsExceedCredited)",
    file: "contracts/settlement/ContributorCredits.sol",
    find: "if (claimedTotal > current.credited) revert ClaimsExceedCredited(node, current.credited, claimedTotal);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/credits.test.ts`, invariants],
  },
  {
    id: "credit-total-exceeds-pool",
    guard: "a credit root never declares more than the node's contributor pool (CreditTotalExceedsPool)",
    file: "contracts/settlement/ContributorCredits.sol",
    find: "if (total > c.pool) revert CreditTotalExceedsPool(node, total, c.pool);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/credits.test.ts`, invariants],
  },
  {
    id: "claim-proof",
    guard: "a claim proves its leaf against the node's final root (InvalidCreditProof)",
    file: "contracts/settlement/ContributorCredits.sol",
    find: "if (provenRoot != root) revert InvalidCreditProof(node, account, cumulativeAmount);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/credits.test.ts`],
  },
  {
    id: "session-key-cap",
    guard: "a session key's voucher stays within the cap its payer set (SessionKeyCapExceeded)",
    file: "contracts/settlement/SessionKeys.sol",
    find: "if (cumulativeAmount > sessionKey.cap) {",
    replace: "if (false) {",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`],
  },
  {
    id: "voucher-signature",
    guard: "a voucher is signed by its payer or an authorized session key (ECDSA recovery)",
    file: "contracts/settlement/VoucherChannels.sol",
    find: "_requireVoucherSigner(payer, ECDSA.recover(digest, voucher.r, voucher.yParityAndS), cumulativeAmount);",
    replace: "_requireVoucherSigner(payer, payer, cumulativeAmount);",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, `${SETTLEMENT_TESTS}/batches.test.ts`],
  },
  {
    id: "stale-voucher",
    guard: "a stale or replayed voucher pays nothing (cumulative amount not above what was redeemed)",
    file: "contracts/settlement/VoucherChannels.sol",
    find: "if (cumulativeAmount <= channel.redeemed) return 0;",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, invariants],
  },
  {
    id: "escrow-overdraw",
    guard: "vouchers and requests never draw more than the payer's escrow (InsufficientEscrow)",
    file: "contracts/settlement/PaymentEscrow.sol",
    find: "if (amount > balance) revert InsufficientEscrow(payer, balance, amount);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, `${SETTLEMENT_TESTS}/escrow.test.ts`, invariants],
  },
  {
    id: "escrow-withdrawal-delay",
    guard: "escrow leaves only after the withdrawal delay, so nodes redeem the latest vouchers first",
    file: "contracts/settlement/PaymentEscrow.sol",
    find: "if (block.timestamp < request.availableAt) {",
    replace: "if (false) {",
    tests: [`${SETTLEMENT_TESTS}/escrow.test.ts`],
  },
  {
    id: "channel-release-delay",
    guard: "unspent channel funds return to escrow only after the delay",
    file: "contracts/settlement/ChannelFunding.sol",
    find: "if (block.timestamp < request.availableAt) {",
    replace: "if (false) {",
    tests: [`${SETTLEMENT_TESTS}/channels.test.ts`],
  },
  {
    id: "revenue-mismatch",
    guard: "a batch books exactly the revenue its vouchers redeemed (RevenueMismatch)",
    file: "contracts/settlement/Settlement.sol",
    find: "if (declared != redeemed) revert RevenueMismatch(declared, redeemed);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/batches.test.ts`, `${SETTLEMENT_TESTS}/vouchers.test.ts`],
  },
  {
    id: "challenge-window",
    guard: "a root can be challenged only inside its dispute window (BatchNotChallengeable)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "|| c.pendingChallenged || block.timestamp >= c.pendingUntil) {",
    replace: "|| c.pendingChallenged) {",
    tests: [`${SETTLEMENT_TESTS}/disputes.test.ts`],
  },
  {
    id: "arbiter-only",
    guard: "only the arbiter resolves a challenge (NotArbiter)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "if (msg.sender != arbiter) revert NotArbiter(msg.sender);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/disputes.test.ts`],
  },
  {
    id: "inference-double-serve",
    guard: "an on-chain inference request is served (and its fee split) once (InferenceRequestNotOpen)",
    file: "contracts/settlement/InferenceRequests.sol",
    find:
      "if (request.status != STATUS_OPEN) revert InferenceRequestNotOpen(requestId, request.status);\n" +
      "        if (block.timestamp >= request.expiresAt)",
    replace: "if (block.timestamp >= request.expiresAt)",
    tests: [`${SETTLEMENT_TESTS}/inference.test.ts`],
  },
  {
    id: "inference-early-refund",
    guard: "an inference fee is refunded only after the request timed out (InferenceRequestNotExpired)",
    file: "contracts/settlement/InferenceRequests.sol",
    find: "if (block.timestamp < request.expiresAt) revert InferenceRequestNotExpired(requestId, request.expiresAt);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/inference.test.ts`],
  },
  {
    id: "slasher-role",
    guard: "only SLASHER_ROLE (the Settlement) slashes a node's stake",
    file: "contracts/nodes/NodeRegistry.sol",
    find: "onlyRole(SLASHER_ROLE)",
    replace: "",
    tests: ["test/contracts/nodes/NodeRegistry.test.ts", "test/contracts/nodes/NodeStakes.t.sol"],
  },
  {
    id: "unbonding-delay",
    guard: "a node's stake leaves only after the unbonding delay (UnbondingNotOver)",
    file: "contracts/nodes/NodeRegistry.sol",
    find: "if (block.timestamp < endsAt) revert UnbondingNotOver(msg.sender, endsAt);",
    replace: "",
    tests: ["test/contracts/nodes/NodeRegistry.test.ts", "test/contracts/nodes/NodeStakes.t.sol"],
  },
  {
    id: "job-double-pay",
    guard: "a training job pays its node once: a result is accepted only on an open job (JobNotOpen)",
    file: "contracts/models/ModelRegistry.sol",
    find: "job = _requireOpen(jobId);\n        if (msg.sender != job.leaseHolder)",
    replace: "job = _jobs[jobId];\n        if (msg.sender != job.leaseHolder)",
    tests: ["test/contracts/models/ModelRegistry.test.ts", "test/contracts/models/ModelEscrow.t.sol"],
  },
  {
    id: "job-early-refund",
    guard: "a training job's fee is refunded only after its deadline (DeadlineNotReached)",
    file: "contracts/models/ModelRegistry.sol",
    find: "if (block.timestamp < job.deadline) revert DeadlineNotReached(jobId, job.deadline);",
    replace: "",
    tests: ["test/contracts/models/ModelRegistry.test.ts", "test/contracts/models/ModelEscrow.t.sol"],
  },
  {
    id: "stake-double-withdraw",
    guard: "a contribution's stake is paid out once (the stake is cleared when withdrawn)",
    file: "contracts/datanets/DatanetRegistry.sol",
    find: "delete _stakes[contributionId];\n        emit StakeWithdrawn(",
    replace: "emit StakeWithdrawn(",
    tests: [
      "test/contracts/datanets/DatanetRegistry.test.ts",
      "test/contracts/datanets/DatanetStakes.t.sol",
      "test/contracts/datanets/DatanetStakeInvariants.t.sol",
    ],
  },
];
