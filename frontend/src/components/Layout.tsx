/** The page frame: skip link, header with navigation and wallet, main content. */
import { ConnectButton } from "@rainbow-me/rainbowkit";
import type { ReactNode } from "react";
import { deployment } from "../chain/deployment.ts";
import { href, type Route } from "../router.ts";

const NAV: { label: string; route: Route; matches: Route["page"][] }[] = [
  { label: "Datanets", route: { page: "datanets" }, matches: ["datanets", "datanet", "datanet-new"] },
  { label: "ModelFactory", route: { page: "factory" }, matches: ["factory", "job"] },
  { label: "Models", route: { page: "models" }, matches: ["models"] },
  { label: "Playground", route: { page: "playground" }, matches: ["playground"] },
  { label: "Rewards", route: { page: "rewards" }, matches: ["rewards"] },
  { label: "Nodes", route: { page: "nodes" }, matches: ["nodes"] },
  { label: "Settings", route: { page: "settings" }, matches: ["settings"] },
];

export function Layout({ route, children }: { route: Route; children: ReactNode }) {
  return (
    <>
      <a className="skip-link" href="#main" onClick={(event) => { event.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header className="site-header">
        <a className="brand" href={href({ page: "datanets" })}>
          Tributary
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.label}>
                <a href={href(item.route)} aria-current={item.matches.includes(route.page) ? "page" : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="wallet">
          <ConnectButton accountStatus="address" chainStatus="none" showBalance={false} />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer className="site-footer">
        {deployment ? `Chain ${deployment.chainId} at ${deployment.rpcUrl}` : "No deployment: run npm start"}
      </footer>
    </>
  );
}
