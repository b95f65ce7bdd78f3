import { describe, expect, it, vi } from "vitest";
import { interpretEvaluation, InvalidEvaluationReportError, parseEvaluationReport } from "../src/lib/evaluation.ts";
import { estimateTraining, formatDuration, formFromPreset, HYPERPARAMETER_PRESETS, matchingPreset, validateHyperparameterForm } from "../src/lib/hyperparameters.ts";
import { applyJobEvent, currentPhase, EMPTY_LIVE_JOB, lossPath } from "../src/lib/job-progress.ts";
import { uploadHyperparameters, watchJobEvents, type EventSourceLike } from "../src/node-api/jobs.ts";
import { href, parseRoute } from "../src/router.ts";
import { validateHyperparameters } from "../../nodes/src/jobs/hyperparameters.ts";

describe("hyper-parameter form", () => {
  it("turns each preset into a document the node's own validator accepts", () => {
    for (const name of Object.keys(HYPERPARAMETER_PRESETS)) {
      const checked = validateHyperparameterForm(formFromPreset(name));
      expect("document" in checked && checked.document).toEqual(HYPERPARAMETER_PRESETS[name]);
      expect(validateHyperparameters(("document" in checked && checked.document) || null)).toBeTruthy();
      expect(matchingPreset(formFromPreset(name))).toBe(name);
    }
  });

  it("names every bad field at once with the allowed range", () => {
    const form = { ...formFromPreset("tiny"), rank: "0", learningRate: "abc", epochs: "", sequenceLength: "1.5", targetModules: [] };
    const checked = validateHyperparameterForm(form);
    expect("errors" in checked).toBe(true);
    const errors = "errors" in checked ? checked.errors : {};
    expect(errors.rank).toBe("Must be a whole number from 1 to 256.");
    expect(errors.learningRate).toBe("Enter a number.");
    expect(errors.epochs).toBe("Required.");
    expect(errors.sequenceLength).toBe("Must be a whole number from 8 to 8192.");
    expect(errors.targetModules).toMatch(/at least one/);
    expect(errors.alpha).toBeUndefined();
  });

  it("leaves the preset when a field changes, and keeps module order canonical", () => {
    const form = { ...formFromPreset("standard"), rank: "12", targetModules: ["v_proj", "q_proj"] as const };
    expect(matchingPreset({ ...form, targetModules: [...form.targetModules] })).toBeUndefined();
    const checked = validateHyperparameterForm({ ...form, targetModules: [...form.targetModules] });
    expect("document" in checked && checked.document.targetModules).toEqual(["q_proj", "v_proj"]);
    expect("document" in checked && checked.document.rank).toBe(12);
  });

  it("estimates steps from the data size and grows the time with the work", () => {
    const tiny = HYPERPARAMETER_PRESETS.tiny; // batch 4 × 64 tokens, 1 epoch
    expect(estimateTraining(tiny, 4 * 256 * 10).steps).toBe(10);
    expect(estimateTraining({ ...tiny, epochs: 3 }, 4 * 256 * 10).steps).toBe(30);
    expect(estimateTraining(tiny, 1).steps).toBe(1);
    expect(estimateTraining(HYPERPARAMETER_PRESETS.thorough, 1e6).seconds).toBeGreaterThan(estimateTraining(tiny, 1e6).seconds);
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(600)).toBe("10 min");
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe("3 h 5 min");
  });
});

describe("evaluation report", () => {
  const comparison = (base: number, adapter: number) => ({ base: { loss: Math.log(base), perplexity: base, tokens: 100 }, adapter: { loss: Math.log(adapter), perplexity: adapter, tokens: 100 }, lossDelta: Math.log(adapter) - Math.log(base) });
  const doc = (report: object, extra: object = {}) => ({ format: "tributary.evaluation/1", jobId: "1", heldOutContributions: 2, heldOutIsTrainingData: false, report, ...extra });

  it("calls an adapter that helps on unseen text without copying it specialized", () => {
    const report = parseEvaluationReport(doc({ ...comparison(40, 25), control: comparison(30, 32), memorization: { rate: 0, memorized: 0, sampled: 16, copyLength: 32 } }));
    expect(report.control?.adapter.perplexity).toBe(32);
    const meaning = interpretEvaluation(report);
    expect(meaning.verdict).toBe("specialized");
    expect(meaning.details[0]).toMatch(/37\.5% lower/);
  });

  it("calls one that repeats training text memorizing, even if perplexity improved", () => {
    const meaning = interpretEvaluation(parseEvaluationReport(doc({ ...comparison(40, 10), memorization: { rate: 0.5, memorized: 8, sampled: 16, copyLength: 32 } })));
    expect(meaning.verdict).toBe("memorizing");
    expect(meaning.details.join(" ")).toMatch(/8 of 16 training prefixes/);
  });

  it("says when nothing improved, when general ability was lost, and when nothing was held out", () => {
    expect(interpretEvaluation(parseEvaluationReport(doc(comparison(40, 40)))).verdict).toBe("no-gain");
    expect(interpretEvaluation(parseEvaluationReport(doc({ ...comparison(40, 20), control: comparison(30, 60) }))).verdict).toBe("forgetting");
    expect(interpretEvaluation(parseEvaluationReport(doc(comparison(40, 20), { heldOutIsTrainingData: true }))).summary).toMatch(/nothing could be held out/);
  });

  it("refuses a document without the numbers, naming what is missing", () => {
    expect(() => parseEvaluationReport({ report: { base: { loss: 1 } } })).toThrow(InvalidEvaluationReportError);
    expect(() => parseEvaluationReport("nope")).toThrow(/not a JSON object/);
  });
});

describe("live job progress", () => {
  it("folds job and progress events into one view and one loss point per step", () => {
    // The record names the last phase completed (verify): the job is training.
    let state = applyJobEvent(EMPTY_LIVE_JOB, "job", { jobId: "1", status: "running", phase: "verify" });
    state = applyJobEvent(state, "progress", { step: 1, totalSteps: 4, loss: 3.2, etaSeconds: 30 });
    state = applyJobEvent(state, "progress", { step: 2, totalSteps: 4, loss: 2.9, etaSeconds: 20 });
    state = applyJobEvent(state, "progress", { step: 2, loss: 2.8 });
    state = applyJobEvent(state, "progress", { message: "almost there" });
    expect(state).toMatchObject({ status: "running", phase: "train", step: 2, totalSteps: 4, etaSeconds: 20, message: "almost there" });
    expect(state.losses).toEqual([{ step: 1, loss: 3.2 }, { step: 2, loss: 2.8 }]);
    // Training completed: sketching now (the node's pipeline sketches before it evaluates); the training ETA and
    // message are gone, the curve stays.
    state = applyJobEvent(state, "job", { jobId: "1", status: "running", phase: "train" });
    expect(state).toMatchObject({ phase: "sketch", etaSeconds: undefined, message: undefined, step: 2 });
    expect(currentPhase("running", "sketch")).toBe("evaluate");
    expect(state.losses).toHaveLength(2);
    expect(applyJobEvent(state, "job", { status: "failed", reason: "train failed: out of memory" }).reason).toMatch(/out of memory/);
  });

  it("names the phase a running job is in from the last one its record says it completed", () => {
    expect(currentPhase("running", null)).toBe("fetch");
    expect(currentPhase("running", "fetch")).toBe("verify");
    expect(currentPhase("running", "upload")).toBe("submit");
    expect(currentPhase("completed", "submit")).toBe("submit");
    expect(currentPhase("failed", "train")).toBe("train");
    expect(currentPhase("claimed", null)).toBeNull();
  });

  it("takes a finished job's recorded loss curve from its record, leaving out malformed points", () => {
    const done = { jobId: "1", status: "completed", phase: null, outputs: { train: { steps: 3, losses: [[1, 3.5], [2, 3.1], ["x", 1], [3, 2.9]] } } };
    const state = applyJobEvent(EMPTY_LIVE_JOB, "job", done);
    expect(state).toMatchObject({ status: "completed", step: 3, totalSteps: 3 });
    expect(state.losses).toEqual([{ step: 1, loss: 3.5 }, { step: 2, loss: 3.1 }, { step: 3, loss: 2.9 }]);
    // A record without a curve (an older node) keeps what the progress events drew.
    const live = applyJobEvent(EMPTY_LIVE_JOB, "progress", { step: 1, loss: 4 });
    expect(applyJobEvent(live, "job", { status: "completed" }).losses).toEqual([{ step: 1, loss: 4 }]);
  });

  it("draws the loss curve inside its box, highest loss at the top", () => {
    const path = lossPath([{ step: 0, loss: 4 }, { step: 5, loss: 3 }, { step: 10, loss: 2 }], 100, 50)!;
    expect(path.d).toBe("M0.0,0.0 L50.0,25.0 L100.0,50.0");
    expect(path).toMatchObject({ minLoss: 2, maxLoss: 4, maxStep: 10 });
    expect(lossPath([], 100, 50)).toBeNull();
    expect(lossPath([{ step: 3, loss: 1 }], 100, 50)!.d).toBe("M50.0,25.0");
  });
});

describe("node job API", () => {
  it("posts the hyper-parameters as JSON and answers the CID", async () => {
    let request: { url: string; body: string; type: string | null } | undefined;
    const fetcher = (async (url: URL, init: RequestInit) => {
      request = { url: url.toString(), body: String(init.body), type: new Headers(init.headers).get("content-type") };
      return new Response(JSON.stringify({ cid: "bafyhp" }), { status: 201 });
    }) as unknown as typeof fetch;
    expect(await uploadHyperparameters("http://127.0.0.1:8700", HYPERPARAMETER_PRESETS.tiny, fetcher)).toBe("bafyhp");
    expect(request).toEqual({ url: "http://127.0.0.1:8700/v1/hyperparameters", body: JSON.stringify(HYPERPARAMETER_PRESETS.tiny), type: "application/json" });
  });

  it("falls back to the plain document route on a node without the hyper-parameters route", async () => {
    const paths: string[] = [];
    const fetcher = (async (url: URL) => {
      paths.push(url.pathname);
      return url.pathname === "/v1/documents" ? new Response(JSON.stringify({ cid: "bafydoc" }), { status: 201 }) : new Response(JSON.stringify({ error: { code: "not_found" } }), { status: 404 });
    }) as unknown as typeof fetch;
    expect(await uploadHyperparameters("http://n", HYPERPARAMETER_PRESETS.tiny, fetcher)).toBe("bafydoc");
    expect(paths).toEqual(["/v1/hyperparameters", "/v1/documents"]);
  });

  it("passes on the node's refusal with its field", async () => {
    const fetcher = (async () => new Response(JSON.stringify({ error: { code: "invalid_hyperparameters", message: "rank must be <= 256", field: "rank" } }), { status: 400 })) as unknown as typeof fetch;
    await expect(uploadHyperparameters("http://n", HYPERPARAMETER_PRESETS.tiny, fetcher)).rejects.toMatchObject({ field: "rank", code: "invalid_hyperparameters" });
    const down = (async () => { throw new TypeError("Failed to fetch"); }) as unknown as typeof fetch;
    await expect(uploadHyperparameters("http://n", HYPERPARAMETER_PRESETS.tiny, down)).rejects.toThrow(/did not answer/);
  });

  it("follows a job's event stream and stops on request", () => {
    const listeners = new Map<string, (event: MessageEvent) => void>();
    let openedUrl = "";
    let closed = false;
    const source: EventSourceLike = { addEventListener: (type, l) => listeners.set(type, l), close: () => { closed = true; }, onerror: null };
    const seen: [string, unknown][] = [];
    let errors = 0;
    const stop = watchJobEvents("http://127.0.0.1:8700", 7n, (e, d) => seen.push([e, d]), () => errors++, (url) => { openedUrl = url; return source; });
    expect(openedUrl).toBe("http://127.0.0.1:8700/jobs/7/events");
    listeners.get("job")!(new MessageEvent("job", { data: JSON.stringify({ status: "running" }) }));
    listeners.get("progress")!(new MessageEvent("progress", { data: "{not json" }));
    listeners.get("progress")!(new MessageEvent("progress", { data: JSON.stringify({ step: 1 }) }));
    source.onerror!(new Event("error"));
    stop();
    expect(seen).toEqual([["job", { status: "running" }], ["progress", { step: 1 }]]);
    expect(errors).toBe(1);
    expect(closed).toBe(true);
  });

  it("opens the stream again when the node refused it (no record of the job yet), until stopped", () => {
    vi.useFakeTimers();
    try {
      const opened: { source: EventSourceLike & { readyState: number }; closed: boolean }[] = [];
      const open = () => {
        const entry = { closed: false, source: { addEventListener: () => undefined, close: () => { entry.closed = true; }, onerror: null, readyState: 0 } as EventSourceLike & { readyState: number } };
        opened.push(entry);
        return entry.source;
      };
      let errors = 0;
      const stop = watchJobEvents("http://n", 7n, () => undefined, () => errors++, open, 1_000);
      // A dropped connection the browser retries by itself (readyState CONNECTING): nothing to do.
      opened[0].source.onerror!(new Event("error"));
      vi.advanceTimersByTime(5_000);
      expect(opened).toHaveLength(1);
      // A 404: the browser closed the stream for good; it is opened again after the delay.
      opened[0].source.readyState = 2;
      opened[0].source.onerror!(new Event("error"));
      expect(opened[0].closed).toBe(true);
      vi.advanceTimersByTime(999);
      expect(opened).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(opened).toHaveLength(2);
      opened[1].source.readyState = 2;
      opened[1].source.onerror!(new Event("error"));
      stop();
      vi.advanceTimersByTime(5_000);
      expect(opened).toHaveLength(2);
      expect(errors).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("routes", () => {
  it("has the factory and a job's page", () => {
    expect(parseRoute("#/factory")).toEqual({ page: "factory" });
    expect(parseRoute("#/jobs/12")).toEqual({ page: "job", id: 12n });
    expect(href({ page: "job", id: 12n })).toBe("#/jobs/12");
  });
});

describe("dispute evidence", () => {
  it("stores the reason as a job-dispute document through the node and answers its CID", async () => {
    const { jobDisputeDocument, uploadDocument } = await import("../src/node-api/documents.ts");
    let sent: { url: string; body: unknown } | undefined;
    const fetcher = (async (url: URL, init: RequestInit) => {
      sent = { url: url.toString(), body: JSON.parse(String(init.body)) };
      return new Response(JSON.stringify({ cid: "bafyreason" }), { status: 201 });
    }) as unknown as typeof fetch;
    expect(await uploadDocument("http://127.0.0.1:8700", jobDisputeDocument(3n, 2n, "  the loss curve never fell  "), fetcher)).toBe("bafyreason");
    expect(sent).toEqual({ url: "http://127.0.0.1:8700/v1/documents", body: { format: "tributary.job-dispute/1", jobId: "3", modelId: "2", reason: "the loss curve never fell" } });
    const refused = (async () => new Response(JSON.stringify({ error: { code: "invalid_document", message: "needs a format", field: "format" } }), { status: 400 })) as unknown as typeof fetch;
    await expect(uploadDocument("http://n", { format: "x/1" }, refused)).rejects.toMatchObject({ field: "format" });
  });
});
