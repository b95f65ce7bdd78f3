import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { WagmiProvider } from "wagmi";
import { wagmiConfig } from "../src/chain/wagmi.ts";
import { TransactionStatus } from "../src/components/TransactionButton.tsx";
import { CreateDatanetPage } from "../src/pages/CreateDatanetPage.tsx";
import { matchesSearch } from "../src/pages/DatanetsPage.tsx";
import { contributorTotals } from "../src/pages/datanet/Contributors.tsx";
import { withdrawable, withdrawStakesCall, type ContributionRecord, type DatanetSummary } from "../src/chain/datanets.ts";

vi.mock("../src/chain/generated/contracts.ts", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  deployment: (await import("./fake-deployment.ts")).fakeDeployment,
}));

const alice = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as const;
const bob = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as const;

describe("TransactionStatus", () => {
  it("shows pending, confirmed and failed states", () => {
    const hash = `0x${"12".repeat(32)}` as const;
    const { rerender } = render(<TransactionStatus state={{ status: "pending", hash }} />);
    expect(screen.getByRole("status").textContent).toContain("Pending: 0x12121212…121212");
    rerender(<TransactionStatus state={{ status: "confirmed", hash, blockNumber: 12n }} />);
    expect(screen.getByRole("status").textContent).toContain("Confirmed in block 12");
    rerender(<TransactionStatus state={{ status: "failed", message: "There is no Datanet 9." }} />);
    expect(screen.getByRole("alert").textContent).toBe("Failed: There is no Datanet 9.");
  });
});

describe("CreateDatanetPage", () => {
  it("shows field errors as the user types and keeps the button disabled", () => {
    render(
      <WagmiProvider config={wagmiConfig}>
        <QueryClientProvider client={new QueryClient()}>
          <CreateDatanetPage />
        </QueryClientProvider>
      </WagmiProvider>,
    );
    fireEvent.change(screen.getByLabelText("Metadata CID"), { target: { value: "not-a-cid" } });
    fireEvent.change(screen.getByLabelText("Largest contribution (bytes)"), { target: { value: "0" } });
    expect(screen.getByText(/Enter the IPFS CID/)).toBeTruthy();
    expect(screen.getByText(/whole number of bytes/)).toBeTruthy();
    expect(screen.getByLabelText("Metadata CID").getAttribute("aria-invalid")).toBe("true");
    expect((screen.getByRole("button", { name: "Create the Datanet" }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByLabelText("Metadata CID"), { target: { value: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy" } });
    fireEvent.change(screen.getByLabelText("Largest contribution (bytes)"), { target: { value: "100" } });
    expect(screen.queryByText(/Enter the IPFS CID/)).toBeNull();
    expect(screen.getByText("Connect a wallet to sign this.")).toBeTruthy();
  });
});

describe("lists", () => {
  const record = (contributor: `0x${string}`, status: ContributionRecord["status"], byteSize: bigint, released = 0n, withdrawn = false): ContributionRecord => ({
    id: byteSize, contributor, digest: "0x00", number: 1, byteSize, stake: 1n, metadataCid: "b", status, released, withdrawn,
  });
  it("finds the stakes a contributor can withdraw", () => {
    const list = [record(alice, "accepted", 1n, 1n), record(alice, "accepted", 2n, 1n, true), record(alice, "rejected", 3n, 0n), record(alice, "pending", 4n), record(bob, "accepted", 5n, 1n)];
    expect(withdrawable(list, alice.toLowerCase() as `0x${string}`).map((c) => c.id)).toEqual([1n]);
    expect(withdrawStakesCall([1n, 2n]).label).toBe("Withdraw 2 released stakes");
  });
  it("totals contributions per contributor, most accepted first", () => {
    const totals = contributorTotals([record(alice, "pending", 10n), record(bob, "accepted", 5n), record(alice.toLowerCase() as `0x${string}`, "accepted", 1n), record(bob, "accepted", 5n)]);
    expect(totals.map((t) => [t.contributor, t.accepted, t.total, t.bytes])).toEqual([
      [bob, 2, 2, 10n],
      [alice, 1, 2, 11n],
    ]);
  });
  it("searches Datanets by every word typed", () => {
    const datanet: DatanetSummary = {
      id: 12n, owner: alice, metadataCid: "bafmeta", licence: "CC-BY-4.0",
      policy: { stake: 0n, maxBytes: 1, forfeitRejectedStake: false }, contributionCount: 0, acceptedCount: 0, versionCount: 0,
    };
    expect(matchesSearch(datanet, "")).toBe(true);
    expect(matchesSearch(datanet, "cc-by #12")).toBe(true);
    expect(matchesSearch(datanet, "0x7099 bafmeta")).toBe(true);
    expect(matchesSearch(datanet, "cc0")).toBe(false);
    expect(matchesSearch(datanet, "jargon", "The Jargon File")).toBe(true);
  });
});
