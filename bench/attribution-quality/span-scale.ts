/**
 * Span attribution at scale (thousands of contributions; no training, so span only): the texts' own
 * continuations of every probe of a large templated Datanet, attributed against its index.
 */
import type { Address } from "viem";
import { attribute } from "../../nodes/src/attribution/attribute.ts";
import { contributorsById } from "../../nodes/src/attribution/datanet-manifest.ts";
import { buildSpanIndex } from "../../nodes/src/attribution/span-index.ts";
import type { Method } from "./attribute-output.ts";
import { accountShares } from "./ranking-metrics.ts";
import { contentNgrams, type AttributedOutput } from "./regime.ts";
import type { TemplatedDatanet } from "./templated-datanet.ts";

export interface SpanScaleResult {
  contributions: number;
  contributors: number;
  indexTokens: number;
  outputs: AttributedOutput[];
  seconds: { index: number; attribution: number };
}

export function runSpanScale(datanet: TemplatedDatanet): SpanScaleResult {
  let t = performance.now();
  const index = buildSpanIndex(datanet.root, datanet.indexDocuments);
  const indexSeconds = (performance.now() - t) / 1000;
  const contributorOf = contributorsById(datanet.manifest);
  const copiesContent = contentNgrams(datanet);
  t = performance.now();
  const outputs = datanet.probes.map((p, i): AttributedOutput => {
    const record = attribute({ requestId: `scale-${i}`, model: { id: 1n, cid: "bench-attribution-quality" }, datanet: { id: 1n, version: 1 }, outputTokens: p.reference, index });
    const span = accountShares(record.weights.map((w) => ({ contributionId: BigInt(w.contributionId), ppm: w.ppm })), contributorOf);
    const empty = new Map<Address, number>();
    return {
      kind: p.kind, source: "text", truths: p.truths, prompt: p.prompt, tokens: p.reference,
      shares: { span, gradient: empty, combined: span } as Record<Method, Map<Address, number>>,
      copied: p.reference.length, copiesContent: copiesContent(p.reference), longestSpan: record.evidence.spans.reduce((m, s) => Math.max(m, s.length), 0),
    };
  });
  return {
    contributions: datanet.contributions.length, contributors: datanet.contributors.length, indexTokens: index.tokens.length, outputs,
    seconds: { index: indexSeconds, attribution: (performance.now() - t) / 1000 },
  };
}
