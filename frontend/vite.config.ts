import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { tributaryContracts } from "./vite/contracts-plugin.ts";

const repoRoot = resolve(import.meta.dirname, "..");
// TRIBUTARY_NODE_PROXY=<node URL> serves the node's API from the dev server's own origin (set VITE_NODE_URL to that
// origin): for a node that sends no CORS headers, as the end-to-end test's serving node.
const nodeProxy = process.env.TRIBUTARY_NODE_PROXY;
const proxy = nodeProxy ? Object.fromEntries(["/v1", "/tokenize", "/ipfs", "/jobs"].map((path) => [path, { target: nodeProxy, changeOrigin: true }])) : undefined;

// Never `define` process.env here: RainbowKit would then turn on a remote ENS provider (see docs/frontend.md).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [
    react(),
    tributaryContracts({ repoRoot, deploymentFile: process.env.TRIBUTARY_DEPLOYMENT ? resolve(process.env.TRIBUTARY_DEPLOYMENT) : undefined }),
  ],
  server: { host: "127.0.0.1", port: 5173, strictPort: false, proxy },
  preview: { host: "127.0.0.1" },
  build: { outDir: resolve(repoRoot, "frontend", "dist"), emptyOutDir: true },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    setupFiles: ["test/setup.ts"],
  },
});
