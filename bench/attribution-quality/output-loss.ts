/** Mean next-token loss of an output given its prompt (only output tokens scored), with whatever adapter the model has attached. */
import type { LlamaModel } from "../../nodes/src/engine/model/llama.ts";
import { IGNORE_INDEX } from "../../nodes/src/engine/ops/cross-entropy.ts";
import { makeBatch } from "../../nodes/src/engine/train/data.ts";
import { BenchmarkInputError } from "./errors.ts";

export function outputLoss(model: LlamaModel, prompt: Int32Array, output: Int32Array, sequenceLength: number): number {
  if (prompt.length < 1 || output.length < 1) throw new BenchmarkInputError("An output loss needs at least one prompt and one output token.");
  if (output.length > sequenceLength) throw new BenchmarkInputError(`The output (${output.length} tokens) is longer than sequenceLength ${sequenceLength}.`);
  const whole = new Int32Array(prompt.length + output.length);
  whole.set(prompt);
  whole.set(output, prompt.length);
  const window = whole.subarray(Math.max(0, whole.length - (sequenceLength + 1)));
  const batch = makeBatch([window], 1, sequenceLength);
  const firstScored = window.length - output.length - 1;
  for (let t = 0; t < firstScored; t++) batch.targets[t] = IGNORE_INDEX;
  const { loss } = model.forward(batch.tokens, 1, sequenceLength, batch.targets);
  return loss!;
}
