/**
 * End to end, the whole story: the dApp in Debian's chromium (playwright-core) with test wallets, against the
 * system started exactly as `npm start` starts it (scripts/stack/main.ts: a hardhat chain with the protocol and the
 * base model registered, the compute node with embedded IPFS, training and serving, the settlement watcher, Vite),
 * with `--seed none` so every step below is done here, through the pages:
 *
 *   connect and take test tokens; create a Datanet (its description stored through the node); contribute from two
 *   accounts (upload through the node, register with the stake); curate (accept in a batch, reject one: its stake
 *   is forfeited) and publish a version (manifest built by the node, root checked against the page's own); train a
 *   model in ModelFactory (base model, version, the tiny preset; pay; the job followed live until the node
 *   submits; the evaluation report); deploy it (price and revenue split); chat with it in the Playground, paid by
 *   a session key the wallet authorized once (no wallet prompt per message), and see the answer's attribution;
 *   the Nodes page with the stack's node and a node registered and unbonded from the browser.
 *
 * It saves a screenshot of each page (test/e2e/screenshots/), after checking that every control is labelled.
 * Run: npm run test:e2e (installs chromium with apt-get when missing).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { createPublicClient, http, type Abi } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { loadProtocolAbis } from "../../nodes/src/chain/contracts.ts";
import { HARDHAT_MNEMONIC } from "./test-wallet.ts";
import { clearScreenshots, connectWallet, launchBrowser, root, SCREENSHOTS, sendTransaction, shot, startStack, type Stack, type TestBrowser, type WalletPage } from "./harness.ts";

const DATA_DIR = resolve(root, ".data", "e2e", "stack");
/** The wallets' Hardhat accounts: ones the stack gives no role (it uses 0-7). */
const OWNER = 8;
const CONTRIBUTOR = 9;

let stack: Stack;
let browser: TestBrowser;
let owner: WalletPage;
let contributor: WalletPage;

/** Polls `check` every 500 ms until it answers a value; fails after `timeoutMs`. */
async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      // The stack's last lines (node, watcher, seed) usually say why: a held record, a reverted transaction...
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; the stack's last output:\n${stack?.output().slice(-6000) ?? "(not started)"}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The first entries of a prepared Jargon File part (as the stack's `--seed tiny` cuts them): a few KB, quick to train on. */
function jargonExcerpt(name: string, bytes = 600): Buffer {
  const text = readFileSync(resolve(root, "scripts", "demo", "data", name), "utf8");
  const cut = text.indexOf("\n## ", bytes);
  return Buffer.from(cut === -1 ? text : text.slice(0, cut + 1));
}

before(async () => {
  clearScreenshots();
  stack = await startStack(DATA_DIR, ["--seed", "none", "--settle-interval", "5"]);
  browser = await launchBrowser();
  owner = await browser.openWalletPage(stack.rpcUrl, OWNER);
  contributor = await browser.openWalletPage(stack.rpcUrl, CONTRIBUTOR);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * Clicks an approval button and waits until the transaction it unlocks is enabled (the approval button goes away
 * once the allowance is confirmed, and its status with it).
 */
async function approveThen(page: Page, approve: string | RegExp, next: string) {
  await page.getByRole("button", { name: approve }).click();
  await page.locator("button:enabled", { hasText: next }).waitFor({ timeout: 30_000 });
}

/** Uploads `file` through the node from the Datanet page and registers it with the stake (approving it first). */
async function contribute(page: Page, file: { name: string; buffer: Buffer }, title: string) {
  await page.getByLabel("File (.txt, .md or .jsonl)").setInputFiles({ name: file.name, mimeType: file.name.endsWith(".md") ? "text/markdown" : "text/plain", buffer: file.buffer });
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Upload to the node" }).click();
  await page.getByText(/^Stored as b[a-z2-7]+/).waitFor({ timeout: 30_000 });
  assert.match((await page.getByTestId("stake-terms").textContent()) ?? "", /You stake 1 TRIB.*forfeited/);
  await page.getByLabel(/I accept that a rejection forfeits my stake/).check();
  const approve = page.getByRole("button", { name: "Allow the Datanet registry to take the stake" });
  if (await approve.isVisible()) await approveThen(page, "Allow the Datanet registry to take the stake", "Register the contribution");
  await sendTransaction(page, "Register the contribution");
}

test("the whole story in the dApp against the stack npm start runs", { timeout: 900_000 }, async (t) => {
  const page = owner.page;
  t.after(async () => {
    for (const [name, p] of [["99-last-state", page], ["99-last-state-contributor", contributor.page]] as const) {
      if (!p.isClosed()) await p.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: true }).catch(() => undefined);
    }
  });
  const abis = await loadProtocolAbis();
  const client = createPublicClient({ transport: http(stack.rpcUrl) });
  const read = <T,>(contract: keyof typeof abis, functionName: string, args: unknown[] = []) =>
    client.readContract({ address: stack.contracts[contract]!, abi: abis[contract] as Abi, functionName, args }) as Promise<T>;

  await page.goto(stack.dappUrl);
  await page.getByRole("heading", { name: "Datanets" }).waitFor();
  // Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate("document.activeElement.textContent"), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate("document.activeElement.id"), "main");
  await page.getByText("No Datanet yet").waitFor();
  await shot(page, "01-datanets-empty");

  // Connect through RainbowKit's injected wallet; take test tokens; a second drip within the cooldown reverts, and
  // the page names the custom error's meaning, decoded from the ABI.
  await connectWallet(page);
  await page.getByTestId("balance").getByText("0 TRIB", { exact: true }).waitFor();
  await sendTransaction(page, "Get test tokens from the faucet");
  await page.getByTestId("balance").getByText("1,000 TRIB").waitFor();
  await page.getByRole("button", { name: "Get test tokens from the faucet" }).click();
  await page.getByText(/Failed: The faucet already paid this account recently; try again after/).waitFor({ timeout: 30_000 });

  // Create a Datanet: its description goes to the node's IPFS, then the chain; 1 TRIB per contribution, forfeited on rejection.
  await page.getByRole("link", { name: "Create a Datanet" }).click();
  await page.getByLabel("Name").fill("Hacker jargon");
  await page.getByLabel("Description").fill("Entries of the Jargon File 4.4.7 (public domain), for a model that explains hacker slang.");
  await page.getByRole("button", { name: "Store the description on the node" }).click();
  await page.getByText("Stored on the node's IPFS").waitFor({ timeout: 30_000 });
  assert.match(await page.getByLabel("Metadata CID").inputValue(), /^b[a-z2-7]{20,}$/);
  await page.getByLabel("Licence").fill("LicenseRef-PublicDomain");
  await page.getByLabel("Stake per contribution (TRIB)").fill("1");
  await page.getByLabel("Largest contribution (bytes)").fill("16384");
  await page.getByLabel(/rejected contribution's stake goes to the Datanet/).check();
  await shot(page, "02-create-datanet");
  await sendTransaction(page, "Create the Datanet", page.getByRole("heading", { name: "Datanet #1: Hacker jargon" }));
  assert.equal(new URL(page.url()).hash, "#/datanets/1");

  // Two accounts contribute through the page: the owner's own entries, and another account's.
  await contribute(page, { name: "jargon-0-c.md", buffer: jargonExcerpt("contributor-1-a-c.md") }, "Jargon File, entries 0-c");
  await contributor.page.goto(`${stack.dappUrl}#/datanets/1`);
  await connectWallet(contributor.page);
  await sendTransaction(contributor.page, "Get test tokens from the faucet");
  await contribute(contributor.page, { name: "jargon-d-h.md", buffer: jargonExcerpt("contributor-2-d-h.md") }, "Jargon File, entries d-h");
  // And one that does not belong (the owner rejects it below, which forfeits its stake).
  await contribute(contributor.page, { name: "shopping.txt", buffer: Buffer.from("eggs, milk, bread\n") }, "My shopping list");
  await shot(contributor.page, "03-datanet-contributor");

  // The owner accepts the two in one batch, rejects the third, and publishes a version whose manifest the node
  // builds; the page publishes it only because the node's root equals its own.
  await page.reload();
  await page.getByRole("checkbox", { name: "Select contribution 1" }).check();
  await page.getByRole("checkbox", { name: "Select contribution 2" }).check();
  await shot(page, "04-datanet-curate");
  await sendTransaction(page, "Accept 2 contributions", page.getByText("3 contributions, 2 accepted, 0 versions"));
  await page.getByRole("checkbox", { name: "Select contribution 3" }).check();
  await sendTransaction(page, "Reject 1 contribution", page.getByText("Rejections forfeited 1 TRIB to this Datanet."));
  const draftRoot = (await page.getByTestId("version-root").textContent())!;
  await page.getByRole("button", { name: "Build the manifest on the node" }).click();
  await page.getByRole("button", { name: "Manifest ready" }).waitFor({ timeout: 30_000 });
  await sendTransaction(page, "Publish a version of 2 contributions", page.getByRole("cell", { name: "v1" }));
  const [onChainRoot] = await read<[string, string]>("datanets", "versionRoot", [1n, 1]);
  assert.equal(onChainRoot, draftRoot);
  await page.getByText("Version 1 includes every accepted contribution").waitFor();
  // The owner's accepted contribution released its stake, and the rejection forfeited one to the Datanet.
  await sendTransaction(page, "Withdraw 1 released stake", page.getByTestId("balance").getByText("1,000 TRIB", { exact: true }));
  await sendTransaction(page, "Withdraw forfeited stakes", page.getByTestId("balance").getByText("1,001 TRIB", { exact: true }));
  // The owner appoints a curator.
  const curator = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: 3 }).address;
  await page.getByLabel("Curator address").fill(curator);
  await sendTransaction(page, "Appoint curator", page.locator(".plain-list code", { hasText: curator }));
  await shot(page, "05-datanet");
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, "06-datanet-phone");
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.goto(`${stack.dappUrl}#/datanets`);
  await page.getByLabel("Search").fill("cc0");
  await page.getByText("No Datanet matches").waitFor();
  await page.getByLabel("Search").fill("jargon");
  await page.getByRole("link", { name: /Datanet #1/ }).waitFor();
  await shot(page, "07-datanets");

  // ModelFactory: base model, Datanet version, the tiny preset (the advanced panel checks each field as typed);
  // store the hyper-parameters on the node, approve the fee, pay and create the job.
  await page.getByRole("link", { name: "ModelFactory", exact: true }).click();
  await page.getByLabel("Base model").selectOption("1");
  await page.getByLabel("Datanet", { exact: true }).selectOption("1");
  await page.getByLabel("Version").selectOption("1");
  await page.getByText(/ of accepted data in this version\./).waitFor();
  await page.getByTestId("job-estimate").getByText(/optimizer steps: roughly/).waitFor();
  await page.getByText("Advanced", { exact: true }).click();
  await page.getByLabel("LoRA rank").fill("0");
  await page.getByText("Must be a whole number from 1 to 256.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Store the hyper-parameters on the node" }).isDisabled(), true);
  await page.getByLabel(/^tiny/).check();
  assert.equal(await page.getByLabel("LoRA rank").inputValue(), "4");
  // From the tiny preset, many passes at a higher rate over this very small Datanet: the adapter learns its text by
  // heart (the evaluation says so), so its answers hold spans found in the Datanet, which attribution pays for.
  await page.getByLabel("LoRA rank", { exact: true }).fill("8");
  await page.getByLabel("Learning rate", { exact: true }).fill("0.01");
  await page.getByLabel("Epochs", { exact: true }).fill("100");
  await page.getByLabel("Batch size", { exact: true }).fill("1");
  await page.getByLabel("k_proj").check();
  await page.getByLabel("o_proj").check();
  await page.getByText("Custom: you changed the preset in the advanced panel.").waitFor();
  await page.getByRole("button", { name: "Store the hyper-parameters on the node" }).click();
  await page.getByRole("button", { name: "Hyper-parameters stored" }).waitFor({ timeout: 30_000 });
  await approveThen(page, "Allow the model registry to take the fee", "Pay and create the training job");
  await shot(page, "08-model-factory");
  await sendTransaction(page, "Pay and create the training job", page.getByRole("heading", { name: "Training job #1" }));

  // The job's page follows it live: the node claims it, trains (step, loss, ETA) and submits, which mints the
  // model; the node's record keeps the loss curve, so it stays on the page once the job is done.
  await page.getByTestId("live-phase").getByText(/^(fetch|verify|train|evaluate|sketch|upload|submit)$/).or(page.getByTestId("live-status").getByText("completed")).first()
    .waitFor({ timeout: 120_000 });
  await page.getByRole("progressbar", { name: "Training progress" }).waitFor({ timeout: 120_000 });
  await shot(page, "09-job-training");
  await page.getByTestId("live-status").getByText("completed").waitFor({ timeout: 300_000 });
  await page.getByTestId("loss-curve").waitFor();
  await page.getByRole("heading", { name: "Evaluation" }).waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId("job-status").textContent(), "Submitted");
  await page.getByText("Perplexity (lower is better)").waitFor({ timeout: 30_000 });

  // Deploy: the owner (the requester) sets the price and the revenue split; each is a new terms version.
  await page.getByLabel("Price per 1,000 tokens (TRIB)").fill("0.5");
  await sendTransaction(page, "Set the price", page.getByText(/Now: 0\.5 TRIB per 1k tokens/));
  await page.getByLabel("Model owner").fill("3000");
  await page.getByLabel("Contributors").fill("6000");
  await page.getByLabel("Serving node").fill("1000");
  await sendTransaction(page, "Set the revenue split", page.getByText(/owner 30%, contributors 60%, node 10%/));
  await shot(page, "10-job-evaluation-deploy");
  const [, , price, ownerBps, contributorBps, nodeBps] = await read<readonly [string, bigint, bigint, number, number, number]>("models", "modelTerms", [1n]);
  assert.deepEqual([price, ownerBps, contributorBps, nodeBps], [5n * 10n ** 17n, 3_000, 6_000, 1_000]);

  await page.getByRole("link", { name: "Models" }).click();
  await page.getByRole("heading", { name: "Model #1" }).waitFor();
  await page.getByText("0.5 TRIB per 1k tokens").waitFor();
  await shot(page, "11-models");

  // Playground: once, with the wallet, authorize this tab's session key (cap and expiry) and fund the escrow; then
  // every message is paid by a voucher the session key signs, with no wallet prompt.
  await page.getByRole("link", { name: "Playground" }).click();
  await page.getByTestId("session-status").getByText("not authorized yet", { exact: true }).waitFor();
  await sendTransaction(page, "Authorize the session key", page.getByTestId("session-status").getByText(/may spend 5 TRIB more/));
  await approveThen(page, "Allow the Settlement to take the deposit", "Deposit into escrow");
  await sendTransaction(page, "Deposit into escrow", page.getByTestId("escrow").getByText("10 TRIB"));
  const promptsBeforeChat = owner.wallet.prompts.length;
  await page.getByLabel("Model").locator("option", { hasText: "tributary:1" }).waitFor({ state: "attached", timeout: 30_000 });
  await page.getByLabel("Longest answer (tokens)").fill("24");
  // Completion mode: the adapter continues text of the kind it was trained on.
  await page.getByLabel(/^Complete/).check();
  await page.getByLabel("Message").fill("# The Jargon File 4.4.7: entries");
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByText(/Attributed to \d+ contributors?/).waitFor({ timeout: 180_000 });
  await page.getByTestId("spent").getByText(/paid 1 answer/).waitFor();
  const answer = (await page.locator(".answer").first().textContent()) ?? "";
  assert.match(answer, /Attributed to [1-9]\d* contributors?/, `the answer is attributed: ${answer}`);
  // The answer's spans found in the Datanet are highlighted; choosing one names the contributions holding it.
  await page.locator("mark button").first().click();
  await page.getByRole("link", { name: /^contribution #[12]$/ }).first().waitFor();
  await page.getByText(/Attributed to/).first().click();
  await page.getByRole("list", { name: "Contributors and their shares" }).first().waitFor();
  await page.getByLabel("Message").fill("From the Jargon File (version 4.4.7,");
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByTestId("spent").getByText(/paid 2 answers/).waitFor({ timeout: 180_000 });
  // Paid when sent; the answer streams in, and its attribution comes with the end of the stream.
  await page.getByText(/Attributed to \d+ contributors?/).nth(1).waitFor({ timeout: 180_000 });
  assert.equal(owner.wallet.prompts.length, promptsBeforeChat, "no wallet prompt for a paid message");
  await shot(page, "12-playground-chat");

  // Settle: the node's settlement scheduler (every 5 s here: the stack's --settle-interval) redeems the session key's
  // vouchers and proposes a credit root over the answers' attribution; the root is pending for the dispute window.
  const creditBatch = await waitUntil("the node's credit batch", async () => {
    const settled = await client.getContractEvents({ address: stack.contracts.settlement!, abi: abis.settlement as Abi, eventName: "BatchSettled", fromBlock: 0n });
    return settled.map((e) => e.args as { creditRoot: string; totalCredit: bigint; disputeUntil: bigint }).find((b) => BigInt(b.creditRoot) !== 0n && b.totalCredit > 0n);
  }, 120_000);
  const earners: WalletPage[] = [];
  for (const wallet of [owner, contributor]) {
    await wallet.page.getByRole("link", { name: "Rewards" }).click();
    await wallet.page.getByTestId("reward-totals").waitFor();
    if (await wallet.page.getByRole("cell", { name: /pending until/ }).isVisible()) earners.push(wallet);
  }
  assert.ok(earners.length > 0, "the credit root credits one of the two contributors at least");
  await shot(earners[0].page, "13-rewards-pending");

  // Test control of the local chain: its clock moves past the dispute window (no challenge came), then a block.
  const { timestamp } = await client.getBlock();
  await client.request({ method: "evm_increaseTime" as never, params: [Number(creditBatch.disputeUntil - timestamp + 1n)] as never });
  await client.request({ method: "evm_mine" as never, params: [] as never });

  // Claim: each credited contributor claims everything final in one transaction.
  for (const wallet of earners) {
    await wallet.page.reload();
    await wallet.page.getByRole("cell", { name: "final" }).waitFor();
    const before = await read<bigint>("token", "balanceOf", [wallet.wallet.account.address]);
    await sendTransaction(wallet.page, "Claim from 1 node", wallet.page.getByTestId("reward-totals").locator("xpath=dt[.='Claimed']/following-sibling::dd[1]").filter({ hasNotText: /^0 TRIB$/ }));
    assert.ok((await read<bigint>("token", "balanceOf", [wallet.wallet.account.address])) > before, "the claim paid the contributor");
  }
  await shot(earners[0].page, "14-rewards-claimed");

  // Nodes: the stack's node (training, serving) with its job; the wallet registers a node of its own and leaves.
  await page.getByRole("link", { name: "Nodes" }).click();
  await page.getByRole("link", { name: "Job #1" }).waitFor({ timeout: 30_000 });
  await shot(page, "15-nodes");
  await page.getByLabel("Peer id").fill("12D3KooWE2eTestPeer");
  // No node answers there (port 9, discard), whatever else runs on this machine.
  await page.getByLabel("API endpoint").fill("http://127.0.0.1:9");
  await approveThen(page, "Allow the node registry to take the stake", "Register the node");
  await sendTransaction(page, "Register the node", page.getByText("Your node is registered."));
  await sendTransaction(page, "Begin unbonding", page.getByText(/Your node is unbonding until/));

  // Settings: pointed at a node that does not answer (port 9, discard), the pages say so in words.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Node URL").fill("http://127.0.0.1:9");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved.").waitFor();
  await shot(page, "16-settings");
  await page.getByRole("link", { name: "Playground" }).click();
  await page.getByText(/Could not list the node's models/).waitFor({ timeout: 30_000 });
  assert.deepEqual([...owner.remoteRequests, ...contributor.remoteRequests], [], "the dApp reached outside 127.0.0.1");
});
