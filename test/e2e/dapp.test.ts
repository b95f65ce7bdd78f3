/**
 * End to end: the dApp in Debian's chromium (playwright-core) with a test wallet, against a real hardhat node with
 * the protocol deployed and Vite's dev server. Connects, takes test tokens from the faucet, creates a Datanet,
 * curates contributions made by another account, publishes a version whose on-chain root matches the one the page
 * built, registers a node, and saves a screenshot of each page (test/e2e/screenshots/).
 *
 * Run: npm run test:e2e (installs chromium with apt-get when missing).
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { createPublicClient, createWalletClient, http, type Abi, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { CHROMIUM, dropIgnitionJournal, ensureChromium, root, startChain, startVite, type DevServer, type LocalChain } from "./servers.ts";
import { HARDHAT_MNEMONIC, installTestWallet } from "./test-wallet.ts";

const screenshots = resolve(import.meta.dirname, "screenshots");
const workDir = resolve(root, ".data", "e2e");
const METADATA_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
const MANIFEST_CID = "bafkreidivzimqfqtoqxkrpge6bjyhlvxqs3rhe73owtmdulaxr5do5in7u";

let chain: LocalChain;
let vite: DevServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
/** Every request the page made to a host other than 127.0.0.1: the dApp must work offline. */
const remoteRequests: string[] = [];

function artifactAbi(name: string): Abi {
  const find = (dir: string): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        const found = find(path);
        if (found) return found;
      } else if (entry.name === `${name}.json`) return path;
    }
    return undefined;
  };
  return JSON.parse(readFileSync(find(resolve(root, "artifacts", "contracts"))!, "utf8")).abi as Abi;
}

before(async () => {
  ensureChromium();
  rmSync(screenshots, { recursive: true, force: true });
  mkdirSync(screenshots, { recursive: true });
  chain = await startChain(workDir);
  vite = await startVite(chain.deploymentFile, resolve(workDir, "vite.log"));
  userDataDir = join(tmpdir(), `tributary-e2e-${process.pid}`);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  page.on("request", (request) => {
    const { protocol, hostname } = new URL(request.url());
    if ((protocol === "http:" || protocol === "https:" || protocol === "ws:" || protocol === "wss:") && hostname !== "127.0.0.1") remoteRequests.push(request.url());
  });
  await installTestWallet(page, chain.node.rpcUrl, 1);
});

after(async () => {
  await context?.close();
  await vite?.stop();
  await chain?.node.stop();
  if (chain) dropIgnitionJournal(chain.deploymentId);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Form controls and buttons on the page that have no accessible name (no label, aria-label or text). */
const UNNAMED_CONTROLS = `[...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden" && !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !el.getAttribute("aria-labelledby") && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))`;

/** Saves a full-page screenshot, after checking every control on the page is labelled. */
async function shot(name: string) {
  assert.deepEqual(await page.evaluate(UNNAMED_CONTROLS), [], `${name}: unlabelled controls`);
  await page.screenshot({ path: resolve(screenshots, `${name}.png`), fullPage: true });
}

/**
 * Clicks the transaction button named `name` and waits until its status says confirmed, or until `done` shows
 * when confirming moves the page elsewhere; a "Failed:" status fails the test with its message.
 */
async function sendTransaction(name: string | RegExp, done?: Locator) {
  const button = page.getByRole("button", { name });
  const tx = page.locator(".tx", { has: button });
  await button.click();
  const failed = tx.getByText(/Failed:/);
  await (done ?? tx.getByText(/Confirmed in block/)).or(failed).first().waitFor({ timeout: 30_000 });
  if (await failed.isVisible()) assert.fail(`${String(name)}: ${await failed.textContent()}`);
}

test("the dApp drives the protocol from a browser wallet", { timeout: 240_000 }, async (t) => {
  t.after(async () => {
    if (page && !page.isClosed()) await page.screenshot({ path: resolve(screenshots, "99-last-state.png"), fullPage: true }).catch(() => undefined);
  });
  await page.goto(vite.url);
  await page.getByRole("heading", { name: "Datanets" }).waitFor();
  // Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate("document.activeElement.textContent"), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate("document.activeElement.id"), "main");
  await page.getByText("No Datanet yet").waitFor();
  await shot("01-datanets-empty");

  // Connect through RainbowKit's injected wallet.
  await page.getByRole("button", { name: "Connect Wallet" }).click();
  await page.getByText(/Browser Wallet|Injected Wallet/).first().click();
  await page.getByTestId("balance").getByText("0 TRIB", { exact: true }).waitFor();

  await sendTransaction("Get test tokens from the faucet");
  await page.getByTestId("balance").getByText("1,000 TRIB").waitFor();
  // A second drip within the cooldown reverts: the page names the custom error's meaning, decoded from the ABI.
  await page.getByRole("button", { name: "Get test tokens from the faucet" }).click();
  await page.getByText(/Failed: The faucet already paid this account recently; try again after/).waitFor({ timeout: 30_000 });

  // Create a Datanet that asks 1 TRIB per contribution and forfeits rejected stakes.
  await page.getByRole("link", { name: "Create a Datanet" }).click();
  await page.getByLabel("Metadata CID").fill(METADATA_CID);
  await page.getByLabel("Licence").fill("CC-BY-4.0");
  await page.getByLabel("Stake per contribution (TRIB)").fill("1");
  await page.getByLabel("Largest contribution (bytes)").fill("4096");
  await page.getByLabel(/rejected contribution's stake goes to the Datanet/).check();
  await shot("02-create-datanet");
  await sendTransaction("Create the Datanet", page.getByRole("heading", { name: "Datanet #1" }));
  assert.equal(new URL(page.url()).hash, "#/datanets/1");

  // Two contributions straight to the registry: one from another account, one from the wallet's own account.
  const publicClient = createPublicClient({ transport: http(chain.node.rpcUrl) });
  const localChain = { id: chain.node.chainId, name: "local", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [chain.node.rpcUrl] } } };
  const tokenAbi = artifactAbi("TributaryToken");
  const registryAbi = artifactAbi("DatanetRegistry");
  const contribute = registryAbi.find((item) => item.type === "function" && item.name === "contribute");
  const inputs = contribute?.type === "function" ? contribute.inputs.map((input) => input.name) : [];
  /** Sends a transaction from Hardhat account `addressIndex`, outside the browser, and checks it succeeded. */
  const sendAs = async (addressIndex: number, address: Address, abi: Abi, functionName: string, args: unknown[]) => {
    const wallet = createWalletClient({ account: mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex }), transport: http(chain.node.rpcUrl), chain: localChain });
    const hash = await wallet.writeContract({ address, abi, functionName, args });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success", `${functionName} from account ${addressIndex}`);
  };
  for (const [addressIndex, digest, drip] of [[2, `0x${"11".repeat(32)}`, true], [1, `0x${"22".repeat(32)}`, false]] as const) {
    const send = (address: Address, abi: Abi, functionName: string, args: unknown[]) => sendAs(addressIndex, address, abi, functionName, args);
    if (drip) await send(chain.contracts.token, tokenAbi, "drip", []);
    await send(chain.contracts.token, tokenAbi, "approve", [chain.contracts.datanets, 10n ** 18n]);
    const args: unknown[] = [1n, digest, 100n + BigInt(addressIndex), METADATA_CID];
    if (inputs.includes("maxStake")) args.push(10n ** 18n);
    if (inputs.includes("acceptForfeit")) args.push(true);
    await send(chain.contracts.datanets, registryAbi, "contribute", args);
  }

  // The owner accepts both in one batch and publishes a version.
  await page.reload();
  await page.getByRole("button", { name: "Select all 2 pending" }).click();
  await shot("03-datanet-curate");
  await sendTransaction("Accept 2 contributions", page.getByText("2 contributions, 2 accepted, 0 versions"));
  const root = (await page.getByTestId("version-root").textContent())!;
  await page.getByLabel("Manifest CID").fill(MANIFEST_CID);
  await sendTransaction("Publish a version of 2 contributions", page.getByRole("cell", { name: "v1" }));
  const [onChainRoot, manifest] = (await publicClient.readContract({ address: chain.contracts.datanets, abi: registryAbi, functionName: "versionRoot", args: [1n, 1] })) as [string, string];
  assert.equal(onChainRoot, root);
  assert.equal(manifest, MANIFEST_CID);
  await page.getByText("Version 1 includes every accepted contribution").waitFor();

  // The wallet's own accepted contribution released its stake: withdraw it.
  await page.getByText("1 TRIB released from 1 contribution, ready to withdraw.").waitFor();
  await page.getByTestId("balance").getByText("999 TRIB", { exact: true }).waitFor();
  await sendTransaction("Withdraw 1 released stake", page.getByTestId("balance").getByText("1,000 TRIB"));

  // A third contribution is rejected: under this Datanet's rule its stake is forfeited, and the owner withdraws it.
  await sendAs(2, chain.contracts.token, tokenAbi, "approve", [chain.contracts.datanets, 10n ** 18n]);
  const third: unknown[] = [1n, `0x${"33".repeat(32)}`, 50n, METADATA_CID];
  if (inputs.includes("maxStake")) third.push(10n ** 18n);
  if (inputs.includes("acceptForfeit")) third.push(true);
  await sendAs(2, chain.contracts.datanets, registryAbi, "contribute", third);
  await page.reload();
  await page.getByRole("checkbox", { name: "Select contribution 3" }).check();
  await sendTransaction("Reject 1 contribution", page.getByText("Rejections forfeited 1 TRIB to this Datanet."));
  await sendTransaction("Withdraw forfeited stakes", page.getByTestId("balance").getByText("1,001 TRIB"));

  // The owner appoints a curator.
  const curator = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: 3 }).address;
  await page.getByLabel("Curator address").fill(curator);
  await sendTransaction("Appoint curator", page.locator(".plain-list code", { hasText: curator }));

  // Contributing needs the node: with none running, the page says so instead of failing silently.
  await page.getByLabel("File (.txt, .md or .jsonl)").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello tributary\n") });
  await page.getByRole("button", { name: "Upload to the node" }).click();
  await page.getByText(/did not answer/).waitFor();
  assert.match((await page.getByTestId("stake-terms").textContent()) ?? "", /You stake 1 TRIB.*forfeited/);
  await shot("04-datanet-page");

  await page.setViewportSize({ width: 390, height: 844 });
  await shot("05-datanet-phone");
  await page.goto(`${vite.url}#/datanets`);
  await page.getByRole("link", { name: "Datanet #1" }).waitFor();
  await shot("06-datanets-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByLabel("Search").fill("cc0");
  await page.getByText("No Datanet matches").waitFor();
  await page.getByLabel("Search").fill("cc-by");
  await page.getByRole("link", { name: "Datanet #1" }).waitFor();
  await shot("07-datanets");

  // Register the connected account as a node operator: approve the stake, then register.
  await page.getByRole("link", { name: "Nodes" }).click();
  await page.getByText("No node is registered yet.").waitFor();
  await page.getByLabel("Peer id").fill("12D3KooWE2eTestPeer");
  // No node answers there (port 9, discard), whatever else runs on this machine.
  await page.getByLabel("API endpoint").fill("http://127.0.0.1:9");
  await page.getByRole("button", { name: "Allow the node registry to take the stake" }).click();
  // The register button is enabled once the approval is confirmed (the approve button then goes away).
  await page.locator("button:enabled", { hasText: "Register the node" }).waitFor({ timeout: 30_000 });
  await sendTransaction("Register the node", page.getByRole("cell", { name: "100 TRIB" }));
  await page.getByText("Your node is registered.").waitFor();
  await shot("08-nodes");

  await page.getByRole("link", { name: "Models" }).click();
  await page.getByText("No model has been trained yet.").waitFor();

  // A model trained on version 1 by the node just registered (the wallet's account): governance registers a base
  // model, account 2 pays for a job, the node claims it and submits its artifacts, which mints the model.
  const modelsAbi = artifactAbi("ModelRegistry");
  await sendAs(0, chain.contracts.models, modelsAbi, "registerBaseModel", ["tributary-base-v0", MANIFEST_CID, "Apache-2.0"]);
  await sendAs(2, chain.contracts.token, tokenAbi, "approve", [chain.contracts.models, 5n * 10n ** 18n]);
  const { timestamp } = await publicClient.getBlock();
  await sendAs(2, chain.contracts.models, modelsAbi, "createJob", [{ datanetId: 1n, datanetVersion: 1, baseModelId: 1n, hyperParamsCid: METADATA_CID, fee: 5n * 10n ** 18n, deadline: timestamp + 86_400n }]);
  await sendAs(1, chain.contracts.models, modelsAbi, "claimJob", [1n]);
  await sendAs(1, chain.contracts.models, modelsAbi, "submitResult", [1n, { adapterCid: MANIFEST_CID, evaluationCid: METADATA_CID, attributionIndexCid: MANIFEST_CID }]);
  await page.reload();
  await page.getByRole("heading", { name: "Model #1" }).waitFor();
  await page.getByRole("link", { name: "Datanet #1" }).waitFor();
  await page.getByText("#1 tributary-base-v0").first().waitFor();
  await page.getByText("not priced yet").waitFor();
  await shot("09-models");

  // ModelFactory: the job just made is listed; its page shows the chain's state, and says the node holding the live
  // progress and the report is not running. The wallet's account is the node, not the requester: it cannot dispute.
  await page.getByRole("link", { name: "ModelFactory", exact: true }).click();
  await page.getByRole("link", { name: "Job #1" }).click();
  await page.getByRole("heading", { name: "Training job #1" }).waitFor();
  assert.equal(await page.getByTestId("job-status").textContent(), "Submitted");
  await page.getByText(/cannot serve the report/).waitFor();
  await page.getByText("Only the requester can dispute.").waitFor();
  await shot("10-job");

  // A new job: choose the base model and version; the advanced panel checks each field as it is typed, with the
  // node's own schema; the estimate follows the version's size; storing the hyper-parameters needs the node.
  await page.getByRole("link", { name: "ModelFactory", exact: true }).click();
  await page.getByLabel("Base model").selectOption("1");
  await page.getByLabel("Datanet", { exact: true }).selectOption("1");
  await page.getByLabel("Version").selectOption("1");
  await page.getByText("203 B of accepted data in this version.").waitFor();
  await page.getByTestId("job-estimate").getByText(/optimizer steps: roughly/).waitFor();
  await page.getByText("Advanced", { exact: true }).click();
  await page.getByLabel("LoRA rank").fill("0");
  await page.getByText("Must be a whole number from 1 to 256.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Store the hyper-parameters on the node" }).isDisabled(), true);
  await page.getByLabel(/^standard/).check();
  assert.equal(await page.getByLabel("LoRA rank").inputValue(), "8");
  await page.getByRole("button", { name: "Store the hyper-parameters on the node" }).click();
  await page.getByText(/did not answer/).waitFor();
  await shot("11-model-factory");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot("12-model-factory-phone");
  await page.setViewportSize({ width: 1280, height: 900 });

  // Playground: authorize this tab's session key once (cap and expiry) and deposit escrow, both real transactions;
  // chatting itself needs a serving node, which the page says is not running.
  await page.getByRole("link", { name: "Playground" }).click();
  await page.getByText(/Could not list the node's models/).waitFor();
  // The key's on-chain state is read after the page renders ("…" until then).
  await page.getByTestId("session-status").getByText("not authorized yet", { exact: true }).waitFor();
  await sendTransaction("Authorize the session key", page.getByTestId("session-status").getByText(/may spend 5 TRIB more/));
  await page.getByRole("button", { name: "Allow the Settlement to take the deposit" }).click();
  await page.locator("button:enabled", { hasText: "Deposit into escrow" }).waitFor({ timeout: 30_000 });
  await sendTransaction("Deposit into escrow", page.getByTestId("escrow").getByText("10 TRIB"));
  await shot("13-playground");

  // Rewards: nothing settled yet for this account.
  await page.getByRole("link", { name: "Rewards" }).click();
  await page.getByText("No settled batch credits this account yet.").waitFor();
  await shot("14-rewards");

  // The operator leaves: unbonding starts and the node is no longer active.
  await page.getByRole("link", { name: "Nodes" }).click();
  await page.getByRole("link", { name: "Job #1" }).waitFor();
  await page.getByText(/The node did not answer at/).waitFor();
  await shot("15-node-details");
  await sendTransaction("Begin unbonding", page.getByText(/Your node is unbonding until/));
  await page.getByText(/^unbonding until/).waitFor();

  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Node URL").waitFor();
  await shot("16-settings");
  assert.deepEqual(remoteRequests, [], "the dApp reached outside 127.0.0.1");
});
