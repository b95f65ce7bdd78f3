/**
 * Exports from the folders the node keeps (a Hugging Face model folder, a PEFT adapter folder) to GGUF files that
 * llama.cpp and Ollama load: `tributary-node export-gguf` is a thin wrapper over these two functions.
 */
import type { GgufTensorType } from "./gguf.ts";
import { writeGgufFile } from "./gguf.ts";
import { llamaGguf, loraAdapterGguf } from "./gguf-llama.ts";
import { loadModelFolder, loadModelFolderMetadata } from "./model-folder.ts";
import { loadPeftAdapter } from "./peft-adapter.ts";
import { basename } from "node:path";

export interface GgufExportOptions {
  /** Storage type of the matrices: F32 (default) or F16. */
  type?: GgufTensorType;
  /** general.name; the folder's name unless given. */
  name?: string;
}

/** Writes a model folder's checkpoint, tokenizer and chat template as one GGUF file. */
export async function exportModelGguf(modelDir: string, outPath: string, options: GgufExportOptions = {}): Promise<void> {
  const folder = await loadModelFolder(modelDir);
  const file = llamaGguf(
    { config: folder.config, tensors: folder.tensors, tokenizerJson: folder.tokenizerJson, ...(folder.chatTemplate === undefined ? {} : { chatTemplate: folder.chatTemplate }) },
    { type: options.type ?? "F32", name: options.name ?? basename(modelDir) },
  );
  await writeGgufFile(outPath, file);
}

/** Writes a PEFT adapter folder (checked against its base model folder) as a GGUF LoRA adapter. */
export async function exportAdapterGguf(adapterDir: string, baseModelDir: string, outPath: string, options: GgufExportOptions = {}): Promise<void> {
  const { config } = await loadModelFolderMetadata(baseModelDir);
  const adapter = await loadPeftAdapter(adapterDir, config);
  await writeGgufFile(outPath, loraAdapterGguf(adapter, config, { type: options.type ?? "F32", name: options.name ?? basename(adapterDir) }));
}
