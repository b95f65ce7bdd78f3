import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The test payment token with its faucet, for local and test networks. Production deployments bring
 * their own ERC-20 (see TributaryWithToken.ts) and never deploy this.
 *
 * Parameters (all optional): owner (default: account 0), initialSupply, faucetAmount, faucetCooldown (seconds).
 */
export default buildModule("TributaryToken", (m) => {
  const owner = m.getParameter("owner", m.getAccount(0));
  const initialSupply = m.getParameter("initialSupply", 10_000_000n * 10n ** 18n);
  const faucetAmount = m.getParameter("faucetAmount", 1_000n * 10n ** 18n);
  const faucetCooldown = m.getParameter("faucetCooldown", 3_600n);
  const token = m.contract("TributaryToken", [owner, initialSupply, faucetAmount, faucetCooldown]);
  return { token };
});
