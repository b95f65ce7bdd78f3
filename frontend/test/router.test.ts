import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route } from "../src/router.ts";

describe("router", () => {
  it("parses every page and defaults to the Datanets", () => {
    expect(parseRoute("")).toEqual({ page: "datanets" });
    expect(parseRoute("#/")).toEqual({ page: "datanets" });
    expect(parseRoute("#/datanets/")).toEqual({ page: "datanets" });
    expect(parseRoute("#/datanets/new")).toEqual({ page: "datanet-new" });
    expect(parseRoute("#/datanets/42")).toEqual({ page: "datanet", id: 42n });
    expect(parseRoute("#/nodes")).toEqual({ page: "nodes" });
    expect(parseRoute("#/models")).toEqual({ page: "models" });
    expect(parseRoute("#/settings")).toEqual({ page: "settings" });
    expect(parseRoute("#/datanets/x1")).toEqual({ page: "not-found", path: "/datanets/x1" });
  });

  it("round-trips hrefs", () => {
    const routes: Route[] = [{ page: "datanets" }, { page: "datanet-new" }, { page: "datanet", id: 7n }, { page: "nodes" }, { page: "models" }, { page: "settings" }];
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
  });
});
