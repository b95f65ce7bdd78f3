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
const attacks = `${SETTLEMENT_TESTS}/attacks.test.ts`;
const adversaries = `${SETTLEMENT_TESTS}/adversaries.test.ts`;
const MODEL_TESTS = "test/contracts/models/ModelRegistry.test.ts";
const DATANET_TESTS = "test/contracts/datanets/DatanetRegistry.test.ts";
const NODE_TESTS = "test/contracts/nodes/NodeRegistry.test.ts";

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
    id: "superseded-root",
    guard: "only the latest final root pays: a root an unchallenged pending root superseded no longer does (issue 7, 11)",
    file: "contracts/settlement/ContributorCredits.sol",
    find: "if (current.credited == 0 || (current.supersededAt != 0 && block.timestamp >= current.supersededAt)) {",
    replace: "if (current.credited == 0) {",
    tests: [attacks, `${SETTLEMENT_TESTS}/credits.test.ts`],
  },
  {
    id: "session-key-cap",
    guard: "a session key's vouchers stay within the cap its payer set (SessionKeyCapExceeded)",
    file: "contracts/settlement/SessionKeys.sol",
    find: "if (amount > sessionKey.cap - sessionKey.spent) return VoucherSkipReason.SessionKeyCapExceeded;",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, adversaries],
  },
  {
    id: "session-key-cross-channel",
    guard: "a session key's cap counts its spending across all channels, so a thief cannot take the cap once per node (issue 7, 6)",
    file: "contracts/settlement/SessionKeys.sol",
    find: "sessionKey.spent += uint96(amount);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, adversaries],
  },
  {
    id: "voucher-signature",
    guard: "a voucher is signed by its payer or an authorized session key (ECDSA recovery)",
    file: "contracts/settlement/VoucherChannels.sol",
    find: "reason = _voucherSignerCheck(payer, signer, cumulativeAmount - state.redeemed);",
    replace: "reason = _voucherSignerCheck(payer, payer, cumulativeAmount - state.redeemed);",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, `${SETTLEMENT_TESTS}/batches.test.ts`],
  },
  {
    id: "voucher-model-binding",
    guard: "the signed voucher commits to its model, so a node cannot book it to another model (issue 7, 2)",
    file: "contracts/settlement/VoucherChannels.sol",
    find: "mstore(add(ptr, 0x60), modelId)",
    replace: "mstore(add(ptr, 0x60), 0)",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, adversaries],
  },
  {
    id: "stale-voucher",
    guard: "a stale or replayed voucher pays nothing (cumulative amount not above what was redeemed)",
    file: "contracts/settlement/VoucherChannels.sol",
    find: "if (cumulativeAmount <= state.redeemed) return (0, VoucherSkipReason.Stale);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, invariants],
  },
  {
    id: "voucher-short-funds",
    guard: "a voucher the payer cannot cover is skipped, not redeemed past the funds (or reverting the batch)",
    file: "contracts/settlement/VoucherChannels.sol",
    find: "if (!_canRedeemOnChannel(state, payer, cumulativeAmount)) return (0, VoucherSkipReason.InsufficientFunds);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, adversaries],
  },
  {
    id: "terms-superseded",
    guard: "a voucher's terms version stops paying withdrawalDelay after it was superseded (issue 7, 3)",
    file: "contracts/settlement/Settlement.sol",
    find: "if (supersededAt != 0 && block.timestamp >= supersededAt + withdrawalDelay) {",
    replace: "if (false) {",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, `${SETTLEMENT_TESTS}/batches.test.ts`],
  },
  {
    id: "terms-unknown",
    guard: "a voucher naming an unknown terms version pays nothing",
    file: "contracts/settlement/Settlement.sol",
    find: "if (!found) return (terms, VoucherSkipReason.TermsUnavailable);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/vouchers.test.ts`, `${SETTLEMENT_TESTS}/batches.test.ts`],
  },
  {
    id: "escrow-overdraw",
    guard: "the escrow debit never overdraws (InsufficientEscrow; redemptions check funds first, so this is the second line)",
    file: "contracts/settlement/PaymentEscrow.sol",
    find: "if (amount > balance) revert InsufficientEscrow(payer, balance, amount);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/EscrowDebit.t.sol`, `${SETTLEMENT_TESTS}/escrow.test.ts`, invariants],
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
    id: "challenge-window",
    guard: "a root can be challenged only inside its dispute window (BatchNotChallengeable)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "if (batchId == 0 || c.pendingBatchId != batchId || block.timestamp >= c.pendingUntil) {",
    replace: "if (batchId == 0 || c.pendingBatchId != batchId) {",
    tests: [`${SETTLEMENT_TESTS}/disputes.test.ts`],
  },
  {
    id: "one-challenge-per-challenger",
    guard: "a challenger has one open challenge per root (AlreadyChallenged); others can always challenge (issue 7, 5)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "if (opened.open) revert AlreadyChallenged(node, batchId, msg.sender);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/disputes.test.ts`, attacks],
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
    id: "slash-to-pool",
    guard: "an upheld challenge's penalty goes to the wronged node's contributor pool, not to a self-challenger (issue 7, 5)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "_addToPool(node, penalty - reward);",
    replace: "",
    tests: [attacks, invariants],
  },
  {
    id: "recovery-delay",
    guard: "a recovery root may be proposed only after the node has been silent for RECOVERY_DELAY (NodeNotSilent)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "if (silentSince == 0 || block.timestamp < recoverableAt) revert NodeNotSilent(node, silentSince, recoverableAt);",
    replace: "",
    tests: [attacks],
  },
  {
    id: "stake-lock-view",
    guard: "a node's own pending or challenged root locks its stake (hasOpenDisputes)",
    file: "contracts/settlement/BatchDisputes.sol",
    find: "return _hasUnsettledRoot(node) && _recoveries[node].proposer == address(0);",
    replace: "return false;",
    tests: [attacks],
  },
  {
    id: "pools-only-settlement",
    guard: "only the Settlement adds to pools and proposes a node's own roots (NotSettlement)",
    file: "contracts/settlement/ContributorPools.sol",
    find: "if (msg.sender != settlement) revert NotSettlement(msg.sender);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/credits.test.ts`],
  },
  {
    id: "earnings-only-pools",
    guard: "only the ContributorPools credit bonds to Settlement earnings (NotContributorPools)",
    file: "contracts/settlement/Settlement.sol",
    find: "if (msg.sender != address(contributorPools)) revert NotContributorPools(msg.sender);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/credits.test.ts`],
  },
  {
    id: "inference-double-serve",
    guard: "an on-chain inference request is served (and its fee split) once (InferenceRequestNotOpen)",
    file: "contracts/settlement/InferenceRequests.sol",
    find: "if (request.status != STATUS_OPEN) revert InferenceRequestNotOpen(requestId, request.status);\n" +
      "        if (msg.sender != request.node)",
    replace: "if (msg.sender != request.node)",
    tests: [`${SETTLEMENT_TESTS}/inference.test.ts`],
  },
  {
    id: "inference-assigned-node",
    guard: "only the node a request names serves it and is paid (NotAssignedNode; issue 7, 7)",
    file: "contracts/settlement/InferenceRequests.sol",
    find: "if (msg.sender != request.node) revert NotAssignedNode(requestId, msg.sender, request.node);",
    replace: "",
    tests: [`${SETTLEMENT_TESTS}/inference.test.ts`, attacks],
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
    guard: "only SLASHER_ROLE (the ContributorPools) slashes a node's stake",
    file: "contracts/nodes/NodeRegistry.sol",
    find: "onlyRole(SLASHER_ROLE)",
    replace: "",
    tests: [NODE_TESTS, "test/contracts/nodes/NodeStakes.t.sol"],
  },
  {
    id: "unbonding-delay",
    guard: "a node's stake leaves only after the unbonding delay (UnbondingNotOver)",
    file: "contracts/nodes/NodeRegistry.sol",
    find: "if (block.timestamp < endsAt) revert UnbondingNotOver(msg.sender, endsAt);",
    replace: "",
    tests: [NODE_TESTS, "test/contracts/nodes/NodeStakes.t.sol"],
  },
  {
    id: "stake-lock",
    guard: "a node with an open dispute cannot complete its withdrawal (StakeLocked; issue 7, 4)",
    file: "contracts/nodes/NodeRegistry.sol",
    find: "if (address(lock) != address(0) && lock.hasOpenDisputes(msg.sender)) {",
    replace: "if (false) {",
    tests: [attacks, NODE_TESTS],
  },
  {
    id: "job-double-pay",
    guard: "a training job's result is accepted only on an open job (JobNotOpen)",
    file: "contracts/models/ModelRegistry.sol",
    find: "job = _requireOpen(jobId);\n" +
      "        if (msg.sender != job.leaseHolder)",
    replace: "job = _jobs[jobId];\n" +
      "        if (msg.sender != job.leaseHolder)",
    tests: [MODEL_TESTS, "test/contracts/models/ModelEscrow.t.sol"],
  },
  {
    id: "job-early-refund",
    guard: "a training job's fee is refunded only after its deadline (DeadlineNotReached)",
    file: "contracts/models/ModelRegistry.sol",
    find: "if (block.timestamp < job.deadline) revert DeadlineNotReached(jobId, job.deadline);",
    replace: "",
    tests: [MODEL_TESTS, "test/contracts/models/ModelEscrow.t.sol"],
  },
  {
    id: "job-dispute-window",
    guard: "a job's fee is held through its dispute window before it pays the node (DisputeWindowOpen; issue 7, 7)",
    file: "contracts/models/ModelRegistry.sol",
    find: "if (block.timestamp < job.payableAt) revert DisputeWindowOpen(jobId, job.payableAt);",
    replace: "",
    tests: [MODEL_TESTS, attacks],
  },
  {
    id: "job-dispute-deadline",
    guard: "a requester disputes a result only within the window (DisputeWindowClosed)",
    file: "contracts/models/ModelRegistry.sol",
    find: "if (block.timestamp >= job.payableAt) revert DisputeWindowClosed(jobId, job.payableAt);",
    replace: "",
    tests: [MODEL_TESTS],
  },
  {
    id: "lease-renewal-bound",
    guard: "one node renews its lease on a job a bounded number of times (LeaseRenewalsExhausted; issue 7, 7)",
    file: "contracts/models/ModelRegistry.sol",
    find: "if (job.leaseRenewals >= bound) revert LeaseRenewalsExhausted(jobId, msg.sender, bound);",
    replace: "",
    tests: [MODEL_TESTS, attacks],
  },
  {
    id: "contribute-max-stake",
    guard: "a contribution never stakes more than the contributor's maxStake (StakeAboveMaximum; issue 7, 8)",
    file: "contracts/datanets/DatanetRegistry.sol",
    find: "if (stake > maxStake) revert StakeAboveMaximum(datanetId, stake, maxStake);",
    replace: "",
    tests: [DATANET_TESTS],
  },
  {
    id: "contribute-accept-forfeit",
    guard: "a stake is forfeitable only if the contributor accepted it (ForfeitNotAccepted; issue 7, 8)",
    file: "contracts/datanets/DatanetRegistry.sol",
    find: "if (datanet.forfeitRejectedStake && stake != 0 && !acceptForfeit) revert ForfeitNotAccepted(datanetId, stake);",
    replace: "",
    tests: [DATANET_TESTS],
  },
  {
    id: "contribution-bound-to-contributor",
    guard: "a contribution id binds its contributor, so a mempool copier cannot take it (issue 7, 9)",
    file: "contracts/datanets/DatanetRegistry.sol",
    find: "contributionId = contributionIdOf(datanetId, digest, msg.sender);",
    replace: "contributionId = contributionIdOf(datanetId, digest, address(0));",
    tests: [DATANET_TESTS],
  },
  {
    id: "stake-double-withdraw",
    guard: "a contribution's stake is paid out once (the stake is cleared when withdrawn)",
    file: "contracts/datanets/DatanetRegistry.sol",
    find: "delete _stakes[contributionId];\n" +
      "        emit StakeWithdrawn(",
    replace: "emit StakeWithdrawn(",
    tests: [DATANET_TESTS, "test/contracts/datanets/DatanetStakes.t.sol", "test/contracts/datanets/DatanetStakeInvariants.t.sol"],
  },
];
