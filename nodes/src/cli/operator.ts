/** `operator register` and `operator stake`: join the NodeRegistry and add stake (approve, then the registry call). */
import { SingleBar, Presets } from "cli-progress";
import { formatUnits, parseUnits } from "viem";
import { capabilityMask } from "../config/fields.ts";
import type { ChainSession } from "./chain-session.ts";
import { UsageError } from "./errors.ts";

const DECIMALS = 18;

/** Shows progress over the steps of a multi-transaction command (a bar on a terminal, lines otherwise). */
function steps(total: number): { step(label: string): void; done(): void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ format: " {bar} {value}/{total} {label}", stream: process.stderr }, Presets.shades_classic);
    bar.start(total, 0, { label: "" });
    let n = 0;
    return { step: (label) => bar.update(n++, { label }), done: () => { bar.update(total, { label: "done" }); bar.stop(); } };
  }
  let n = 0;
  return { step: (label) => console.error(`[${++n}/${total}] ${label}`), done: () => undefined };
}

export function parseTokenAmount(text: string, option: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(text)) throw new UsageError(`${option} must be a token amount like "100" or "2.5", got "${text}"`);
  return parseUnits(text, DECIMALS);
}

/** Approves the NodeRegistry for `amount` when its allowance is short. */
async function ensureAllowance({ chain }: ChainSession, amount: bigint, progress: ReturnType<typeof steps>): Promise<void> {
  const me = chain.account.address;
  const balance = await chain.read("token", "balanceOf", [me]);
  if (balance < amount) {
    throw new UsageError(`${me} holds ${formatUnits(balance, DECIMALS)} tokens but ${formatUnits(amount, DECIMALS)} are needed; fund it (on a local chain: tributary-node operator faucet)`);
  }
  const allowance = await chain.read("token", "allowance", [me, chain.addresses.nodes]);
  progress.step("approving the stake");
  if (allowance < amount) await chain.sender.write({ contract: "token", functionName: "approve", args: [chain.addresses.nodes, amount] });
}

export async function operatorRegister(session: ChainSession, options: { peerId?: string; endpoint?: string; capability?: string[]; stake?: string }): Promise<void> {
  const { chain, config } = session;
  if (!options.peerId) throw new UsageError("--peer-id is required: the node's libp2p peer id");
  const endpoint = options.endpoint ?? `http://${config.http.host}:${config.http.port}`;
  let mask: bigint;
  try {
    mask = capabilityMask(options.capability ?? config.jobs.capabilities);
  } catch (error) {
    throw new UsageError(`--capability: ${(error as Error).message}`);
  }
  const stake = options.stake === undefined ? await chain.read("nodes", "minStake", []) : parseTokenAmount(options.stake, "--stake");
  const progress = steps(2);
  await ensureAllowance(session, stake, progress);
  progress.step("registering");
  const { hash } = await chain.sender.write({ contract: "nodes", functionName: "register", args: [options.peerId, endpoint, mask, stake] });
  progress.done();
  console.log(`Registered ${chain.account.address} (peer ${options.peerId}, endpoint ${endpoint}, capabilities ${mask}) with stake ${formatUnits(stake, DECIMALS)}; tx ${hash}`);
}

export async function operatorStake(session: ChainSession, amountText: string): Promise<void> {
  const { chain } = session;
  const amount = parseTokenAmount(amountText, "<amount>");
  if (amount === 0n) throw new UsageError("<amount> must be more than 0");
  const progress = steps(2);
  await ensureAllowance(session, amount, progress);
  progress.step("adding stake");
  const { hash } = await chain.sender.write({ contract: "nodes", functionName: "addStake", args: [amount] });
  progress.done();
  const stake = await chain.read("nodes", "stakeOf", [chain.account.address]);
  console.log(`Staked ${formatUnits(amount, DECIMALS)}; stake now ${formatUnits(stake, DECIMALS)}; tx ${hash}`);
}

const GAS_TOP_UP = 10n ** 19n; // 10 ETH

/**
 * `operator faucet`: takes the test token's faucet amount (TributaryToken.drip) for the operator. A fresh key
 * has no ETH for gas; on a Hardhat dev chain it is topped up with hardhat_setBalance first.
 */
export async function operatorFaucet({ chain }: ChainSession): Promise<void> {
  const me = chain.account.address;
  if ((await chain.client.getBalance({ address: me })) < GAS_TOP_UP / 10n) {
    try {
      await chain.client.request({ method: "hardhat_setBalance" as never, params: [me, `0x${GAS_TOP_UP.toString(16)}`] as never });
      console.log(`Set ${me}'s gas balance to ${formatUnits(GAS_TOP_UP, 18)} ETH (Hardhat dev chain)`);
    } catch {
      throw new UsageError(`${me} has no ETH for gas and this chain is not a Hardhat dev chain: send it some ETH first`);
    }
  }
  const { hash } = await chain.sender.write({ contract: "token", functionName: "drip", args: [] });
  const balance = await chain.read("token", "balanceOf", [chain.account.address]);
  console.log(`Faucet paid ${chain.account.address}; balance now ${formatUnits(balance, DECIMALS)}; tx ${hash}`);
}
