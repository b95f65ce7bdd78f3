import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { saveModelFolder } from "../../../nodes/src/engine/formats/model-folder.ts";
import { savePeftAdapter } from "../../../nodes/src/engine/formats/peft-adapter.ts";
import { TINY_CONFIG, randomValues, tinyTensors, tinyTokenizerFiles } from "../engine/formats/tiny-checkpoint.ts";

const CLI = fileURLToPath(new URL("../../../nodes/src/cli/main.ts", import.meta.url));

/** Runs `tributary-node generate` as a user would: its own process, stdout and stderr read back. */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "generate", ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("tributary-node generate", () => {
  let dir: string;
  let model: string;
  let adapter: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tributary-generate-"));
    model = join(dir, "model");
    adapter = join(dir, "adapter");
    await saveModelFolder(model, { config: TINY_CONFIG, tensors: tinyTensors(), ...tinyTokenizerFiles() });
    const C = TINY_CONFIG.hiddenSize;
    const rank = 2;
    await savePeftAdapter(adapter, {
      config: { rank, alpha: 4, targetModules: ["q_proj", "v_proj"] },
      baseModel: "tiny",
      layers: Array.from({ length: TINY_CONFIG.numLayers }, (_, l) => ({
        q_proj: { A: randomValues(rank * C, 100 + l), B: randomValues(C * rank, 200 + l) },
        v_proj: { A: randomValues(rank * C, 300 + l), B: randomValues(8 * rank, 400 + l) },
      })),
    }, TINY_CONFIG);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("streams a repeatable greedy completion, with and without an adapter", async () => {
    const args = ["--model", model, "--prompt", "The whale", "--max-tokens", "12", "--temperature", "0", "--threads", "1"];
    const first = await run(args);
    const second = await run(args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, second.stdout);
    assert.match(first.stderr, /\[(length|stop): \d+ prompt \+ \d+ generated tokens/);
    const adapted = await run([...args, "--adapter", adapter]);
    assert.equal(adapted.code, 0, adapted.stderr);
    assert.notEqual(adapted.stdout, first.stdout, "a random adapter changes the greedy completion");
  });

  it("applies the chat template", async () => {
    const result = await run(["--model", model, "--prompt", "hello", "--chat", "--max-tokens", "4", "--seed", "3", "--threads", "1"]);
    assert.equal(result.code, 0, result.stderr);
  });

  it("rejects bad arguments naming the option, with exit code 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--prompt", "x"], /--model is required/],
      [["--model", model], /--prompt is required/],
      [["--model", model, "--prompt", "x", "--max-tokens", "0"], /--max-tokens must be an integer ≥ 1/],
      [["--model", model, "--prompt", "x", "--top-p", "1.5"], /--top-p must be in \(0, 1\]/],
      [["--model", join(dir, "missing"), "--prompt", "x"], /config\.json/],
      [["--model", model, "--prompt", "x", "--max-tokens", "500"], /maxTokens/],
      [["--model", model, "--prompt", "x", "--bogus"], /Unknown option/],
      [["--model", model, "--prompt", "x", "--temperature", "-1"], /--temperature/],
    ];
    for (const [args, message] of cases) {
      const result = await run(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
