/**
 * Trains Tributary's own base model from scratch and writes it as a Hugging Face model folder.
 *
 *   node scripts/base-model/train-base.ts --data .data/corpus --out models/tributary-base-v0
 *        [--max-minutes 35 | --steps N] [--resume] [--threads 2] [--checkpoint-dir .data/base-model-ckpt]
 *        [--learning-rate 2e-3] [--warmup-steps 200] [--bench-out bench/out/base-model.md]
 *
 * Builds the corpus if it is missing, tokenizes it with the committed tokenizer, plans the step count (fixed,
 * or the most that fits the wall-clock budget at the throughput measured in the first seconds), trains with
 * warm-up + cosine and periodic checkpoints, evaluates the full held-out and control splits, exports the folder,
 * reloads it, prints sample generations and writes TRAINING.md beside the weights.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { access, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createBackend } from "../../nodes/src/engine/backend/create-backend.ts";
import type { Backend } from "../../nodes/src/engine/backend/backend.ts";
import type { ModelFolder } from "../../nodes/src/engine/formats/model-folder.ts";
import { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { initLlamaWeights } from "../../nodes/src/engine/model/weights.ts";
import { loadTokenizer } from "../../nodes/src/engine/tokenizer/text-tokenizer.ts";
import { windowSequences } from "../../nodes/src/engine/train/data.ts";
import { evaluateLoss } from "../../nodes/src/engine/train/evaluate.ts";
import { Trainer } from "../../nodes/src/engine/train/trainer.ts";
import { readCorpusSplit, splitFileName } from "./corpus-files.ts";
import { BaseModelRunError, TrainBaseOptionError } from "./errors.ts";
import { exportBaseModel, type TokenizerFiles } from "./export-checkpoint.ts";
import { continueText } from "./generate-text.ts";
import { LossLog } from "./loss-log.ts";
import {
  END_OF_TEXT_ID, RUN_PLAN_FORMAT, defaultRecipe, parameterCount, readRunPlan, writeRunPlan, type RunPlan,
} from "./recipe.ts";
import { stepsForBudget } from "./step-budget.ts";
import { evenlySpaced, packDocuments } from "./token-stream.ts";
import { renderResults, renderTrainingMd, type TextSample } from "./training-report.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const TOKENIZER_DIR = join(HERE, "tokenizer");
const MODEL_NAME = "tributary-base-v0";
/** Periodic held-out evaluations per run (every 10%), on this many windows (~33k tokens, a few seconds). */
const EVALUATIONS = 10;
const EVAL_WINDOWS = 256;
const CALIBRATION_SECONDS = 30;
const CHECKPOINT_SECONDS = 180;
const SAMPLE_PROMPTS = ["The people of the United States", "The whale", "In the year"];
const SAMPLING = { temperature: 0.8, topK: 40, seed: 7, maxNewTokens: 48 };

interface CliOptions {
  data: string;
  out: string;
  checkpointDir: string;
  benchOut: string;
  steps?: number;
  maxMinutes: number;
  resume: boolean;
  threads: number;
  learningRate?: number;
  warmupSteps?: number;
}

function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: "string", default: ".data/corpus" },
      out: { type: "string", default: `models/${MODEL_NAME}` },
      "checkpoint-dir": { type: "string", default: ".data/base-model-ckpt" },
      "bench-out": { type: "string", default: "bench/out/base-model.md" },
      steps: { type: "string" },
      "max-minutes": { type: "string", default: "35" },
      resume: { type: "boolean", default: false },
      threads: { type: "string", default: "2" },
      "learning-rate": { type: "string" },
      "warmup-steps": { type: "string" },
    },
    strict: true,
  });
  const positive = (option: string, text: string | undefined, integer: boolean): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new TrainBaseOptionError(option, text, `must be a positive ${integer ? "integer" : "number"}`);
    }
    return value;
  };
  return {
    data: values.data, out: values.out, checkpointDir: values["checkpoint-dir"], benchOut: values["bench-out"],
    steps: positive("steps", values.steps, true),
    maxMinutes: positive("max-minutes", values["max-minutes"], false)!,
    resume: values.resume,
    threads: positive("threads", values.threads, true)!,
    learningRate: positive("learning-rate", values["learning-rate"], false),
    warmupSteps: positive("warmup-steps", values["warmup-steps"], true),
  };
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

async function ensureCorpus(dataDir: string): Promise<void> {
  try {
    await access(join(dataDir, "manifest.json"));
  } catch {
    console.log(`building the corpus in ${dataDir}`);
    execFileSync(process.execPath, [join(HERE, "corpus.ts"), dataDir], { stdio: "inherit" });
  }
}

/** A wall clock for training time that continues across resumed runs. */
function trainingClock(secondsBefore: number): () => number {
  const start = performance.now();
  return () => secondsBefore + (performance.now() - start) / 1000;
}

async function main(options: CliOptions): Promise<void> {
  const started = performance.now();
  const sinceStart = () => (performance.now() - started) / 1000;
  await ensureCorpus(options.data);
  const tokenizerText = await readFile(join(TOKENIZER_DIR, "tokenizer.json"), "utf8");
  const tokenizerFiles: TokenizerFiles = {
    tokenizerJson: JSON.parse(tokenizerText),
    tokenizerConfigJson: JSON.parse(await readFile(join(TOKENIZER_DIR, "tokenizer_config.json"), "utf8")),
  };
  const tokenizer = loadTokenizer(tokenizerFiles.tokenizerJson, tokenizerFiles.tokenizerConfigJson);
  const manifest = JSON.parse(await readFile(join(options.data, "manifest.json"), "utf8"));
  const inputs = {
    trainSha256: manifest.files[splitFileName("train")].sha256 as string,
    heldoutSha256: manifest.files[splitFileName("heldout")].sha256 as string,
    tokenizerSha256: sha256(tokenizerText),
  };
  const streams = {
    train: packDocuments(tokenizer, (await readCorpusSplit(options.data, "train")).map((d) => d.text), END_OF_TEXT_ID),
    heldout: packDocuments(tokenizer, (await readCorpusSplit(options.data, "heldout")).map((d) => d.text), END_OF_TEXT_ID),
    control: packDocuments(tokenizer, (await readCorpusSplit(options.data, "control")).map((d) => d.text), END_OF_TEXT_ID),
  };
  console.log(`tokens: train ${streams.train.length}, held-out ${streams.heldout.length}, control ${streams.control.length} (${sinceStart().toFixed(1)} s)`);

  const existing = await readRunPlan(options.checkpointDir);
  if (existing && !options.resume) {
    throw new BaseModelRunError(`${options.checkpointDir} already holds a run: pass --resume to continue it, or remove the directory to start over.`, { checkpointDir: options.checkpointDir });
  }
  if (!existing && options.resume) throw new BaseModelRunError(`--resume: ${options.checkpointDir} holds no run to resume.`, { checkpointDir: options.checkpointDir });
  if (existing) {
    for (const [key, value] of Object.entries(inputs)) {
      if (existing.inputs[key as keyof typeof inputs] !== value) {
        throw new BaseModelRunError(`--resume: the run was planned on different data or tokenizer (${key} changed).`, { key, planned: existing.inputs[key as keyof typeof inputs], now: value });
      }
    }
    if (options.steps !== undefined && options.steps !== existing.totalSteps) {
      throw new TrainBaseOptionError("steps", options.steps, `differs from the resumed run's ${existing.totalSteps}: a resumed schedule cannot change length`);
    }
  }

  const recipe = existing?.recipe ?? defaultRecipe({ learningRate: options.learningRate, warmupSteps: options.warmupSteps });
  const backend = await createBackend({ threads: options.threads });
  const config = recipe.model;
  const B = recipe.batchSize;
  const T = recipe.sequenceLength;
  const model = new LlamaModel(config, initLlamaWeights(config, recipe.initSeed, recipe.initializerRange, (n) => backend.alloc(n)), backend, { trainBase: true });
  const trainSequences = [streams.train];
  const evalSubset = evenlySpaced(windowSequences([streams.heldout], T), EVAL_WINDOWS);
  console.log(`model: ${parameterCount(config)} parameters on ${backend.name}`);

  const makeTrainer = (totalSteps: number, plan?: RunPlan) => new Trainer({
    model, trainSequences, evalSequences: evalSubset, batchSize: B, sequenceLength: T, totalSteps,
    learningRate: recipe.learningRate, minLearningRate: recipe.minLearningRate, warmupSteps: recipe.warmupSteps,
    weightDecay: recipe.weightDecay, beta1: recipe.beta1, beta2: recipe.beta2, maxGradNorm: recipe.maxGradNorm, seed: recipe.dataSeed,
    evalEvery: plan?.evalEvery ?? 0,
    ...(plan ? { checkpointDir: options.checkpointDir, checkpointEvery: plan.checkpointEvery } : {}),
  });

  let plan: RunPlan;
  let trainer: Trainer;
  let log: LossLog;
  let clock: () => number;
  if (existing) {
    plan = existing;
    trainer = makeTrainer(plan.totalSteps, plan);
    await trainer.resume(options.checkpointDir);
    log = await LossLog.open(options.checkpointDir, trainer.step);
    clock = trainingClock(log.secondsSoFar);
    console.log(`resumed at step ${trainer.step} of ${plan.totalSteps}`);
  } else {
    log = await LossLog.open(options.checkpointDir, -1);
    clock = trainingClock(0);
    const evalStarted = performance.now();
    const initial = evaluateLoss(model, evalSubset, B, T);
    const evalSeconds = (performance.now() - evalStarted) / 1000;
    await log.append({ step: 0, evalLoss: initial.loss, tokens: 0, seconds: clock() });
    console.log(`step 0: held-out loss ${initial.loss.toFixed(3)} (ln V = ${Math.log(config.vocabSize).toFixed(3)}), evaluation ${evalSeconds.toFixed(1)} s`);
    const draft = (totalSteps: number, secondsPerStep: number, planning: RunPlan["planning"]): RunPlan => ({
      format: RUN_PLAN_FORMAT, recipe, totalSteps, inputs, planning, evalWindows: evalSubset.length,
      evalEvery: Math.max(1, Math.round(totalSteps / EVALUATIONS)),
      checkpointEvery: Math.max(1, Math.round(CHECKPOINT_SECONDS / secondsPerStep)),
    });
    if (options.steps !== undefined) {
      plan = draft(options.steps, 0.5, { steps: options.steps });
      await writeRunPlan(options.checkpointDir, plan);
      trainer = makeTrainer(plan.totalSteps, plan);
    } else {
      // The first warm-up steps are the run's own: their learning rates do not depend on the total, so they are
      // taken with a provisional schedule, timed, and handed over through a checkpoint to the planned one.
      const calibration = makeTrainer(Number.MAX_SAFE_INTEGER);
      const timed: number[] = [];
      let last = performance.now();
      for await (const event of calibration.run()) {
        const now = performance.now();
        if (event.step > 3) timed.push((now - last) / 1000);
        last = now;
        await log.append({ step: event.step, loss: event.loss, lr: event.lr, gradNorm: event.gradNorm, tokens: event.step * B * T, seconds: clock() });
        if (clock() >= CALIBRATION_SECONDS || event.step >= recipe.warmupSteps - 1) break;
      }
      const secondsPerStep = timed.reduce((a, b) => a + b, 0) / Math.max(1, timed.length);
      const heldoutAndControl = windowSequences([streams.heldout], T).length + windowSequences([streams.control], T).length + evalSubset.length;
      const totalSteps = stepsForBudget({
        budgetSeconds: options.maxMinutes * 60, elapsedSeconds: sinceStart(), stepsDone: calibration.step, secondsPerStep,
        evalSeconds, evaluations: EVALUATIONS,
        // Full splits at the end, plus export, reload and sample generation (~30 s measured; doubled for load).
        finishSeconds: (evalSeconds * heldoutAndControl) / evalSubset.length + 60,
      });
      plan = draft(totalSteps, secondsPerStep, { maxMinutes: options.maxMinutes, secondsPerStep, evalSeconds });
      await writeRunPlan(options.checkpointDir, plan);
      await calibration.saveCheckpoint(options.checkpointDir);
      trainer = makeTrainer(plan.totalSteps, plan);
      await trainer.resume(options.checkpointDir);
      console.log(`planned ${totalSteps} steps at ${secondsPerStep.toFixed(3)} s/step to finish within ${options.maxMinutes} min`);
    }
  }

  const reportEvery = Math.max(1, Math.round(plan.totalSteps / 50));
  for await (const event of trainer.run()) {
    await log.append({
      step: event.step, loss: event.loss, lr: event.lr, gradNorm: event.gradNorm, tokens: event.step * B * T, seconds: clock(),
      ...(event.evalLoss !== undefined ? { evalLoss: event.evalLoss } : {}),
    });
    if (event.step % reportEvery === 0 || event.evalLoss !== undefined) {
      console.log(`step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(3)}${event.evalLoss !== undefined ? ` held-out ${event.evalLoss.toFixed(3)}` : ""}`
        + ` lr ${event.lr.toExponential(2)} ${Math.round(event.tokensPerSecond)} tok/s eta ${(event.etaSeconds / 60).toFixed(1)} min`);
    }
  }

  console.log("evaluating the full held-out and control splits");
  const final = {
    trainSample: evaluateLoss(model, evenlySpaced(windowSequences(trainSequences, T), plan.evalWindows), B, T),
    heldout: evaluateLoss(model, [streams.heldout], B, T),
    control: evaluateLoss(model, [streams.control], B, T),
  };
  console.log(`held-out loss ${final.heldout.loss.toFixed(3)} (perplexity ${final.heldout.perplexity.toFixed(1)}), control ${final.control.loss.toFixed(3)} (${final.control.perplexity.toFixed(1)})`);

  const folder = await exportBaseModel(options.out, config, model.weights, tokenizerFiles);
  const samples = await sampleGenerations(folder);
  for (const s of samples) console.log(`\n> ${s.prompt}\n  greedy:  ${s.greedy}\n  sampled: ${s.sampled}`);

  const record = {
    modelName: MODEL_NAME, plan, parameters: parameterCount(config),
    safetensorsBytes: (await stat(join(options.out, "model.safetensors"))).size,
    backend: backend.name, curve: log.all, final,
    corpusTokens: { train: streams.train.length, heldout: streams.heldout.length, control: streams.control.length },
    sources: manifest.sources, samples, sampling: SAMPLING,
  };
  await writeFile(join(options.out, "TRAINING.md"), renderTrainingMd(record));
  await mkdir(dirname(resolve(options.benchOut)), { recursive: true });
  await writeFile(options.benchOut, renderResults(record));
  await backend.dispose();
  console.log(`\nwrote ${options.out} and ${options.benchOut} (${(sinceStart() / 60).toFixed(1)} min in all)`);
}

/**
 * Samples from the exported folder as it reads back, on the bit-reproducible backend the regression test uses
 * (one thread, no fused multiply-add), so the greedy text here is the text the test expects.
 */
async function sampleGenerations(folder: ModelFolder): Promise<TextSample[]> {
  const { config, tensors, tokenizer } = folder;
  const backend: Backend = await createBackend({ threads: 1, fusedMultiplyAdd: false });
  const weights = new Map([...tensors].map(([name, t]) => [name, t.data]));
  const model = new LlamaModel(config, weights, backend);
  const samples = SAMPLE_PROMPTS.map((prompt) => ({
    prompt,
    greedy: continueText(model, tokenizer, prompt, { maxNewTokens: SAMPLING.maxNewTokens }),
    sampled: continueText(model, tokenizer, prompt, {
      maxNewTokens: SAMPLING.maxNewTokens, seed: SAMPLING.seed, sampling: { temperature: SAMPLING.temperature, topK: SAMPLING.topK, topP: 1 },
    }),
  }));
  await backend.dispose();
  return samples;
}

try {
  await main(parseCli(process.argv.slice(2)));
} catch (error) {
  // Our own errors say what to do; a stack trace would only bury that.
  if (!(error instanceof BaseModelRunError || error instanceof TrainBaseOptionError)) throw error;
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
}
