/**
 * End to end with a real serving node: a hardhat chain with the protocol, the engine with the committed base model,
 * a LoRA adapter trained for a few steps and a span index (test/nodes/serve/serving-node.ts), the node process with
 * the serve extension, and the dApp (Vite proxies the node's API, which sends no CORS headers) in chromium with a
 * test wallet. The wallet authorizes the tab's session key and deposits escrow; the chat streams a paid answer
 * whose voucher the session key signed; the answer shows the span planted in the Datanet and its contribution.
 *
 * Run: node --test test/e2e/playground.test.ts (part of npm run test:e2e).
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { parseEther } from "viem";
import { account } from "../nodes/node/helpers/local-chain.ts";
import { PLANTED_CONTRIBUTION, PLANTED_PROMPT, startServingNode, type ServingNode } from "../nodes/serve/serving-node.ts";
import { connectWallet, launchBrowser, root, SCREENSHOTS, sendTransaction, startVite, type DevServer, type TestBrowser, type WalletPage } from "./harness.ts";

const workDir = resolve(root, ".data", "e2e-playground");
/** The wallet's Hardhat account: one the serving node's setup leaves unused. */
const WALLET_INDEX = 4;

let serving: ServingNode;
let vite: DevServer;
let browser: TestBrowser;
let user: WalletPage;
let page: Page;

before(async () => {
  mkdirSync(workDir, { recursive: true });
  serving = await startServingNode();
  const { t } = serving;
  await t.send(account(0), "token", "transfer", [account(WALLET_INDEX).address, parseEther("50")]);
  const deploymentFile = join(workDir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: t.chain.rpcUrl, chainId: t.chain.chainId, contracts: t.addresses }, null, 2));
  vite = await startVite(deploymentFile, join(workDir, "vite.log"), { nodeProxy: serving.node.url });
  browser = await launchBrowser();
  user = await browser.openWalletPage(t.chain.rpcUrl, WALLET_INDEX);
  page = user.page;
});

after(async () => {
  await browser?.close();
  await vite?.stop();
  await serving?.close();
});

test("the Playground pays a node per message with a session key and shows the answer's attribution", { timeout: 300_000 }, async (t) => {
  t.after(async () => {
    if (page && !page.isClosed()) await page.screenshot({ path: resolve(SCREENSHOTS, "99-playground-last-state.png"), fullPage: true }).catch(() => undefined);
  });
  await page.goto(`${vite.url}#/playground`);
  await connectWallet(page);
  await page.getByTestId("session-status").getByText("not authorized yet").waitFor();

  // Once, with the wallet: authorize the tab's session key and fund the escrow.
  await sendTransaction(page, "Authorize the session key", page.getByTestId("session-status").getByText(/may spend 5 TRIB more/));
  await page.getByRole("button", { name: "Allow the Settlement to take the deposit" }).click();
  await page.locator("button:enabled", { hasText: "Deposit into escrow" }).waitFor({ timeout: 30_000 });
  await sendTransaction(page, "Deposit into escrow", page.getByTestId("escrow").getByText("10 TRIB"));

  // Then chat: the node's model is listed with its price; each message is paid without a wallet prompt.
  await page.getByLabel("Model").locator("option", { hasText: "tributary:1" }).waitFor({ state: "attached", timeout: 30_000 });
  await page.getByLabel("Longest answer (tokens)").fill("24");
  // Completion mode: the prompt as written, so the adapter continues it with the text planted in the Datanet.
  await page.getByLabel(/^Complete/).check();
  await page.getByLabel("Message").fill(PLANTED_PROMPT);
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByText(/Attributed to \d+ contributors?/).waitFor({ timeout: 120_000 });
  await page.getByTestId("spent").getByText(/paid 1 answer/).waitFor();

  // The planted contribution's text is highlighted; choosing it names the contribution.
  const span = page.locator("mark button").first();
  await span.click();
  await page.getByRole("link", { name: `contribution #${PLANTED_CONTRIBUTION}` }).waitFor();
  await page.getByText(/Attributed to/).click();
  await page.getByRole("list", { name: "Contributors and their shares" }).getByText(`#${PLANTED_CONTRIBUTION}`).waitFor();
  await page.screenshot({ path: resolve(SCREENSHOTS, "40-playground-planted-span.png"), fullPage: true });

  // The node kept the session key's voucher: a second message raises the channel's cumulative amount.
  await page.getByLabel("Message").fill(PLANTED_PROMPT);
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByTestId("spent").getByText(/paid 2 answers/).waitFor({ timeout: 120_000 });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(SCREENSHOTS, "41-playground-phone.png"), fullPage: true });
  // Authorizing and depositing asked the wallet; the two paid answers did not.
  assert.deepEqual(user.wallet.prompts.filter((m) => m !== "eth_requestAccounts" && m !== "wallet_requestPermissions"), ["eth_sendTransaction", "eth_sendTransaction", "eth_sendTransaction"]);
});
