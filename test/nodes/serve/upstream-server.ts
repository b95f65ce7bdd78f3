/**
 * A minimal OpenAI-compatible generation server, as a separate process, standing in for vLLM / LoRAX in the
 * upstream test: our engine with the base model and one PEFT adapter registered under `--lora-modules`-style
 * name, answering streamed `/v1/completions` (text chunks, a usage chunk, [DONE]) and `GET /v1/models`.
 * It knows nothing of vouchers or attribution. Prints `listening <port>` when ready.
 * argv: <baseModelDir> <adapterName>=<adapterDir>
 */
import { createServer } from "node:http";
import { Engine } from "../../../nodes/src/engine/worker/index.ts";

const [baseModelDir, adapterSpec] = process.argv.slice(2);
const [adapterName, adapterDir] = adapterSpec.split("=");
const engine = await Engine.start({ threads: 1 });
await engine.loadModel("base", baseModelDir);
await engine.registerAdapter("base", adapterName, { dir: adapterDir });
let completions = 0;

const server = createServer((request, response) => {
  let body = "";
  request.on("data", (d: Buffer) => { body += d.toString(); });
  request.on("end", async () => {
    if (request.method === "GET" && request.url === "/v1/models") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [{ id: adapterName, object: "model", parent: "base" }], completions }));
      return;
    }
    if (request.method !== "POST" || request.url !== "/v1/completions") {
      response.writeHead(404).end();
      return;
    }
    const req = JSON.parse(body) as { model: string; prompt: string; max_tokens: number; temperature?: number; stream?: boolean; stop?: string[] };
    if (req.model !== adapterName) {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `model ${req.model} not found` } }));
      return;
    }
    completions++;
    const prompt = await engine.encode("base", req.prompt);
    response.writeHead(200, { "content-type": "text/event-stream" });
    const send = (value: unknown) => response.write(`data: ${JSON.stringify(value)}\n\n`);
    for await (const event of engine.generate({ modelId: "base", adapterId: adapterName, prompt, maxTokens: req.max_tokens, sampling: { temperature: req.temperature ?? 1 }, stop: req.stop })) {
      if (event.type === "token") {
        if (event.text) send({ object: "text_completion", choices: [{ index: 0, text: event.text, finish_reason: null }] });
      } else {
        send({ object: "text_completion", choices: [{ index: 0, text: event.text, finish_reason: event.reason === "length" ? "length" : "stop" }] });
        send({ object: "text_completion", choices: [], usage: { prompt_tokens: event.promptTokens, completion_tokens: event.completionTokens } });
      }
    }
    response.end("data: [DONE]\n\n");
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number };
  console.log(`listening ${address.port}`);
});
process.on("SIGTERM", async () => {
  server.close();
  await engine.close();
  process.exit(0);
});
