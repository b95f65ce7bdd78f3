/** User settings kept in the browser: the node the dApp uploads to. */
import { useSyncExternalStore } from "react";

const NODE_URL_KEY = "tributary.nodeUrl";
export const DEFAULT_NODE_URL: string = import.meta.env.VITE_NODE_URL ?? "http://127.0.0.1:8700";

const listeners = new Set<() => void>();

export function getNodeUrl(): string {
  return window.localStorage.getItem(NODE_URL_KEY) ?? DEFAULT_NODE_URL;
}

export function setNodeUrl(url: string) {
  window.localStorage.setItem(NODE_URL_KEY, url);
  listeners.forEach((listener) => listener());
}

export function useNodeUrl(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getNodeUrl,
  );
}
