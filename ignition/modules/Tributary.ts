import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import TributaryTokenModule from "./TributaryToken.ts";
import { addRegistries } from "./registries.ts";

/**
 * The whole protocol for local and test networks: the test token with its faucet, DatanetRegistry,
 * NodeRegistry, ModelRegistry and Settlement. Parameters: see TributaryToken.ts (module "TributaryToken") and
 * registries.ts (module "Tributary").
 */
export default buildModule("Tributary", (m) => {
  const { token } = m.useModule(TributaryTokenModule);
  return { token, ...addRegistries(m, token) };
});
