/**
 * tributary-node export-gguf --model <dir> [--adapter <dir>] --out <file.gguf> [--type f32|f16]
 *
 * Writes a model folder as a GGUF file, or (with --adapter) a PEFT LoRA adapter of that model as a GGUF LoRA
 * adapter, for llama.cpp (`llama-cli -m model.gguf --lora adapter.gguf`) and Ollama (`FROM` + `ADAPTER`).
 * Exit codes: 0 written, 2 the command could not run (bad arguments, unreadable or unexportable files).
 */
import { parseArgs } from "node:util";
import { FormatError } from "../engine/formats/errors.ts";
import { exportAdapterGguf, exportModelGguf } from "../engine/formats/gguf-export.ts";

const HELP = `Usage: tributary-node export-gguf --model <dir> --out <file.gguf> [options]

Exports a Hugging Face model folder (Llama architecture, byte-level BPE tokenizer) to GGUF, the format
llama.cpp and Ollama load; with --adapter, exports that PEFT LoRA adapter of the model instead.

Options:
  --model <dir>      the model folder (with --adapter: the adapter's base model, to check shapes against)
  --adapter <dir>    PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors)
  --out <file>       the .gguf file to write
  --type <t>         f32 (default) or f16: how matrices are stored (norms stay f32)
  --name <name>      general.name in the file (default: the folder's name)
  -h, --help         show this help`;

export async function exportGgufCommand(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" }, adapter: { type: "string" }, out: { type: "string" },
        type: { type: "string", default: "f32" }, name: { type: "string" }, help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help === true) {
      console.log(HELP);
      return 0;
    }
    const problems: string[] = [];
    if (values.model === undefined) problems.push("--model is required: the model folder (or the adapter's base model)");
    if (values.out === undefined) problems.push("--out is required: the .gguf file to write");
    if (values.type !== "f32" && values.type !== "f16") problems.push(`--type must be f32 or f16 (got "${values.type}")`);
    if (problems.length > 0) {
      console.error(`tributary-node export-gguf: ${problems.join("; ")}\n\n${HELP}`);
      return 2;
    }
    const options = { type: values.type === "f16" ? "F16" as const : "F32" as const, ...(values.name === undefined ? {} : { name: values.name }) };
    if (values.adapter === undefined) await exportModelGguf(values.model!, values.out!, options);
    else await exportAdapterGguf(values.adapter, values.model!, values.out!, options);
    console.error(`wrote ${values.out} (${values.adapter === undefined ? "model" : "LoRA adapter"}, ${values.type})`);
    return 0;
  } catch (error) {
    if (error instanceof FormatError) {
      console.error(`tributary-node export-gguf: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && String((error as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS_")) {
      console.error(`tributary-node export-gguf: ${error.message}\n\n${HELP}`);
      return 2;
    }
    throw error;
  }
}
