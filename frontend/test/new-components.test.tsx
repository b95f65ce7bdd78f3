import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { WagmiProvider } from "wagmi";
import { wagmiConfig } from "../src/chain/wagmi.ts";
import { AttributedAnswer } from "../src/components/AttributedAnswer.tsx";
import { EvaluationView } from "../src/components/EvaluationView.tsx";
import { LossCurve } from "../src/components/LossCurve.tsx";
import type { TributaryAttribution } from "../src/lib/attribution.ts";

vi.mock("../src/chain/generated/contracts.ts", async (importOriginal) => ({
  ...(await importOriginal<object>()),
  deployment: (await import("./fake-deployment.ts")).fakeDeployment,
}));

const comparison = (base: number, adapter: number) => ({ base: { loss: 1, perplexity: base, tokens: 10 }, adapter: { loss: 1, perplexity: adapter, tokens: 10 }, lossDelta: 0 });

describe("EvaluationView", () => {
  it("plots base against adapter and says what the numbers mean", () => {
    render(<EvaluationView document={{ heldOutIsTrainingData: false, report: { ...comparison(40, 25), control: comparison(30, 31), memorization: { rate: 0.0625, memorized: 1, sampled: 16, copyLength: 32 } } }} />);
    expect(screen.getByTestId("verdict").textContent).toMatch(/^Specialized\. the adapter predicts unseen text/i);
    expect(screen.getByRole("img", { name: /Perplexity \(lower is better\): Held-out base 40\.0, Held-out adapter 25\.0, Control base 30\.0, Control adapter 31\.0/ })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Rates: Memorization rate 6.3%" })).toBeTruthy();
  });

  it("shows what is missing from a bad report", () => {
    render(<EvaluationView document={{ report: {} }} />);
    expect(screen.getByRole("alert").textContent).toMatch(/no held-out base loss/);
  });
});

describe("LossCurve", () => {
  it("describes the curve in words and waits for the first step", () => {
    const { rerender } = render(<LossCurve points={[]} />);
    expect(screen.getByText(/appears once the node reports/)).toBeTruthy();
    rerender(<LossCurve points={[{ step: 1, loss: 3.5 }, { step: 2, loss: 2.25 }]} />);
    expect(screen.getByRole("img", { name: "Training loss over 2 steps, from 3.500 at step 1 to 2.250 at step 2." })).toBeTruthy();
  });
});

describe("AttributedAnswer", () => {
  const attribution: TributaryAttribution = {
    record: { id: "r1", hash: "0xabcdef0123", cid: "bafyrecord", schema: "tributary.attribution/1" },
    model: { id: "1", adapter_cid: "bafyadapter", datanet: { id: "1", version: 1, root: "0x" } },
    payment: { payer: "0x1", signer: "0x2", cumulative_amount: "150", charged: "150", terms_version: "1" },
    contributions: [{ contribution_id: "7", share: 0.75, ppm: 750000 }, { contribution_id: "8", share: 0.25, ppm: 250000 }],
    spans: [{ output_start: 0, length: 3, text: "a hacker", occurrences: 2, sources: [{ contribution_id: "7", count: 2 }] }],
  };

  it("highlights spans as buttons that show their sources, and lists shares", () => {
    render(
      <WagmiProvider config={wagmiConfig}>
        <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
          <AttributedAnswer text="He was a hacker indeed." attribution={attribution} />
        </QueryClientProvider>
      </WagmiProvider>,
    );
    const span = screen.getByRole("button", { name: "a hacker" });
    expect(span.closest("mark")).toBeTruthy();
    expect(span.getAttribute("aria-pressed")).toBe("false");
    fireEvent.click(span);
    expect(span.getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByText(/appears 2 times in/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "contribution #7" }).getAttribute("href")).toBe("#/datanets/1");
    const shares = within(screen.getByRole("list", { name: "Contributors and their shares" }));
    expect(shares.getAllByRole("listitem").map((li) => li.textContent)).toEqual([expect.stringMatching(/75\.0% \(contribution #7\)/), expect.stringMatching(/25\.0% \(contribution #8\)/)]);
  });
});
