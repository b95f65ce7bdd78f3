import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { getAddress, keccak256, parseEther, size, toHex, type Hex } from "viem";
import { deployProtocol } from "../../../scripts/deploy/deploy-protocol.ts";
import { startHardhatNode, type HardhatNode } from "../../../scripts/deploy/hardhat-node.ts";
import { findFreePort } from "../../../scripts/deploy/ports.ts";

/** EIP-170: the most runtime code a contract may have on a real chain. */
const MAX_RUNTIME_BYTES = 24_576;
const root = resolve(import.meta.dirname, "../../..");

/** Init code that deploys `runtimeBytes` zero bytes of runtime code: PUSH2 size, PUSH1 0, RETURN. */
function initCodeReturning(runtimeBytes: number): Hex {
  return `0x61${runtimeBytes.toString(16).padStart(4, "0")}6000f3`;
}

// The deployment `npm start` makes, on a real `hardhat node` process: the production build, deployed by the same
// function (scripts/deploy/deploy-protocol.ts) on a chain that enforces EIP-170, whatever this test run's own
// Hardhat runtime is (under `npm test` it is the coverage build, whose instrumented contracts could not deploy).
describe("Local chain deployment (a hardhat node process, as npm start)", function () {
  this.timeout(240_000);
  let chain: HardhatNode | undefined;
  let logDir = "";
  const deploymentId = `local-chain-test-${process.pid}`;
  // A test run killed mid-way must not leave a chain behind.
  const killChain = () => chain?.process.kill("SIGKILL");
  let deployed: Awaited<ReturnType<typeof deployProtocol>>;

  before(async () => {
    process.once("exit", killChain);
    logDir = await mkdtemp(join(tmpdir(), "tributary-local-chain-"));
    chain = await startHardhatNode(await findFreePort(), join(logDir, "hardhat-node.log"));
    deployed = await deployProtocol(chain.rpcUrl, deploymentId);
  });

  after(async () => {
    await deployed?.connection.close();
    await chain?.stop();
    process.removeListener("exit", killChain);
    await rm(resolve(root, "ignition", "deployments", deploymentId), { recursive: true, force: true });
    if (logDir !== "") await rm(logDir, { recursive: true, force: true });
  });

  it("serves on 127.0.0.1 and deploys every contract within EIP-170's size limit", async () => {
    assert.match(chain!.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    const publicClient = await deployed.connection.viem.getPublicClient();
    for (const [name, address] of Object.entries(deployed.addresses)) {
      const code = await publicClient.getCode({ address });
      assert.ok(code !== undefined && code !== "0x", `${name} has no code at ${address}`);
      assert.ok(size(code) <= MAX_RUNTIME_BYTES, `${name} is ${size(code)} bytes, over EIP-170's ${MAX_RUNTIME_BYTES}`);
    }
  });

  it("enforces the size limit on the node (a contract one byte over it does not deploy)", async () => {
    const [deployer] = await deployed.connection.viem.getWalletClients();
    const publicClient = await deployed.connection.viem.getPublicClient();
    const atLimit = await deployer.sendTransaction({ data: initCodeReturning(MAX_RUNTIME_BYTES) });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash: atLimit })).status, "success");
    await assert.rejects(
      deployer.sendTransaction({ data: initCodeReturning(MAX_RUNTIME_BYTES + 1), gas: 10_000_000n }),
      /trying to deploy a contract whose code is too large/,
    );
  });

  it("wires the contracts together and answers a read and a transaction on each", async () => {
    const { token, datanets, nodes, models, settlement, contributorPools } = deployed.contracts;
    const [governance, operator, payer] = await deployed.connection.viem.getWalletClients();
    const publicClient = await deployed.connection.viem.getPublicClient();
    const mined = async (hash: Promise<Hex>) =>
      assert.equal((await publicClient.waitForTransactionReceipt({ hash: await hash })).status, "success");

    // TributaryToken: the faucet.
    const drip = await token.read.faucetAmount();
    await mined(token.write.drip({ account: payer.account }));
    assert.equal(await token.read.balanceOf([payer.account.address]), drip);

    // DatanetRegistry: a new Datanet, owned by its creator.
    assert.equal(getAddress(await datanets.read.paymentToken()), getAddress(token.address));
    await mined(datanets.write.createDatanet(["bafy-datanet", "CC-BY-4.0", { stake: 0n, maxBytes: 1_000, forfeitRejectedStake: false }]));
    assert.equal(getAddress(await datanets.read.ownerOf([1n])), getAddress(governance.account.address));

    // NodeRegistry: an operator registers with the minimum stake.
    const minStake = await nodes.read.minStake();
    await mined(token.write.transfer([operator.account.address, minStake]));
    await mined(token.write.approve([nodes.address, minStake], { account: operator.account }));
    await mined(nodes.write.register(["peer-1", "http://127.0.0.1:1", 1n, minStake], { account: operator.account }));
    assert.equal(await nodes.read.isActive([operator.account.address]), true);
    assert.equal(await nodes.read.hasRole([await nodes.read.SLASHER_ROLE(), contributorPools.address]), true);
    assert.equal(getAddress(await nodes.read.stakeLock()), getAddress(contributorPools.address));

    // ModelRegistry: governance registers a base model.
    assert.equal(getAddress(await models.read.nodes()), getAddress(nodes.address));
    await mined(models.write.registerBaseModel(["tributary-base", `bafy-${keccak256(toHex("base")).slice(2, 10)}`, "Apache-2.0"]));
    assert.equal(await models.read.baseModelCount(), 1n);

    // Settlement: a payer deposits into escrow.
    assert.equal(getAddress(await settlement.read.owner()), getAddress(governance.account.address));
    const deposit = parseEther("1");
    await mined(token.write.approve([settlement.address, deposit], { account: payer.account }));
    await mined(settlement.write.deposit([deposit], { account: payer.account }));
    assert.equal(await settlement.read.escrowBalanceOf([payer.account.address]), deposit);

    // ContributorPools: created by the Settlement, same governance, no root yet.
    assert.equal(getAddress(await settlement.read.contributorPools()), getAddress(contributorPools.address));
    assert.equal(getAddress(await contributorPools.read.owner()), getAddress(governance.account.address));
    assert.equal(await contributorPools.read.hasOpenDisputes([operator.account.address]), false);
  });
});
