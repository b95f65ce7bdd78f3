/**
 * A paid answer's attribution (the node's `tributary` field) made readable the way OLMoTrace shows it: the output
 * split into plain and highlighted segments, each highlight naming the contributions whose text it matches, and the
 * contributors with their shares.
 */

export interface TributaryAttribution {
  record: { id: string; hash: string; cid: string | null; schema: string };
  model: { id: string; adapter_cid: string; datanet: { id: string; version: number; root: string } };
  payment: { payer: string; signer: string; cumulative_amount: string; charged: string; terms_version: string };
  contributions: { contribution_id: string; share: number; ppm: number }[];
  spans: { output_start: number; length: number; text: string; occurrences: number; sources: { contribution_id: string; count: number }[] }[];
  attribution_ms?: number;
}

export interface Segment {
  text: string;
  /** Index into the spans of the highlighted span this text belongs to; absent for plain text. */
  span?: number;
}

/**
 * Splits `output` into segments. Span positions are in tokens, so each span is found by its decoded text; longer
 * spans win where they overlap, and each span takes the first place its text occurs that is still unclaimed.
 */
export function segmentOutput(output: string, spans: readonly { text: string }[]): Segment[] {
  const owner = new Array<number>(output.length).fill(-1);
  const order = spans.map((s, i) => i).sort((a, b) => spans[b].text.length - spans[a].text.length);
  for (const i of order) {
    const text = spans[i].text;
    if (!text.trim()) continue;
    for (let from = output.indexOf(text); from !== -1; from = output.indexOf(text, from + 1)) {
      let free = true;
      for (let c = from; c < from + text.length; c++) if (owner[c] !== -1) { free = false; break; }
      if (!free) continue;
      owner.fill(i, from, from + text.length);
      break;
    }
  }
  const segments: Segment[] = [];
  for (let c = 0; c < output.length; ) {
    let end = c + 1;
    while (end < output.length && owner[end] === owner[c]) end++;
    segments.push(owner[c] === -1 ? { text: output.slice(c, end) } : { text: output.slice(c, end), span: owner[c] });
    c = end;
  }
  return segments;
}

/** Shares summed per contributor address, largest first (a contribution of unknown contributor is its own "unknown" line). */
export function sharesByContributor(contributions: TributaryAttribution["contributions"], contributorOf: (contributionId: string) => string | undefined): { contributor: string; share: number; contributionIds: string[] }[] {
  // A contribution whose contributor is not known (yet) stays on its own line rather than merging with others.
  const totals = new Map<string, { contributor: string; share: number; contributionIds: string[] }>();
  for (const c of contributions) {
    const who = contributorOf(c.contribution_id);
    const key = who?.toLowerCase() ?? `unknown:${c.contribution_id}`;
    const entry = totals.get(key) ?? { contributor: who ?? "unknown", share: 0, contributionIds: [] };
    entry.share += c.share;
    entry.contributionIds.push(c.contribution_id);
    totals.set(key, entry);
  }
  return [...totals.values()].sort((a, b) => b.share - a.share);
}

/** The attribution field of a streamed chunk, or undefined when the chunk has none. */
export function attributionOf(chunk: unknown): TributaryAttribution | undefined {
  const t = (chunk as { tributary?: unknown } | null)?.tributary as TributaryAttribution | undefined;
  return t && Array.isArray(t.contributions) && Array.isArray(t.spans) ? t : undefined;
}
