/** A hash router: #/datanets, #/datanets/new, #/datanets/<id>, #/factory, #/jobs/<id>, #/playground, #/rewards, #/nodes, #/models, #/settings. */
import { useSyncExternalStore } from "react";

export type Route =
  | { page: "datanets" }
  | { page: "datanet-new" }
  | { page: "datanet"; id: bigint }
  | { page: "factory" }
  | { page: "playground" }
  | { page: "rewards" }
  | { page: "job"; id: bigint }
  | { page: "nodes" }
  | { page: "models" }
  | { page: "settings" }
  | { page: "not-found"; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/\/+$/, "") || "/datanets";
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "datanets") {
    if (parts.length === 1) return { page: "datanets" };
    if (parts.length === 2 && parts[1] === "new") return { page: "datanet-new" };
    if (parts.length === 2 && /^\d+$/.test(parts[1])) return { page: "datanet", id: BigInt(parts[1]) };
  }
  if (parts.length === 2 && parts[0] === "jobs" && /^\d+$/.test(parts[1])) return { page: "job", id: BigInt(parts[1]) };
  if (parts.length === 1 && (parts[0] === "factory" || parts[0] === "playground" || parts[0] === "rewards" || parts[0] === "nodes" || parts[0] === "models" || parts[0] === "settings")) return { page: parts[0] };
  return { page: "not-found", path };
}

export function href(route: Route): string {
  switch (route.page) {
    case "datanet-new":
      return "#/datanets/new";
    case "datanet":
      return `#/datanets/${route.id}`;
    case "job":
      return `#/jobs/${route.id}`;
    case "not-found":
      return `#${route.path}`;
    default:
      return `#/${route.page}`;
  }
}

function subscribe(onChange: () => void) {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}

export function navigate(route: Route) {
  window.location.hash = href(route);
}
