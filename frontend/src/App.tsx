/** Providers (wagmi, TanStack Query, RainbowKit) around the routed pages. */
import { darkTheme, RainbowKitProvider } from "@rainbow-me/rainbowkit";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { WagmiProvider } from "wagmi";
import { deployment, NoDeploymentError } from "./chain/deployment.ts";
import { wagmiConfig } from "./chain/wagmi.ts";
import { Faucet } from "./components/Faucet.tsx";
import { Layout } from "./components/Layout.tsx";
import { ErrorNotice } from "./components/States.tsx";
import { CreateDatanetPage } from "./pages/CreateDatanetPage.tsx";
import { DatanetPage } from "./pages/DatanetPage.tsx";
import { DatanetsPage } from "./pages/DatanetsPage.tsx";
import { JobPage } from "./pages/JobPage.tsx";
import { ModelFactoryPage } from "./pages/ModelFactoryPage.tsx";
import { ModelsPage } from "./pages/ModelsPage.tsx";
import { PlaygroundPage } from "./pages/PlaygroundPage.tsx";
import { RewardsPage } from "./pages/RewardsPage.tsx";
import { NodesPage } from "./pages/NodesPage.tsx";
import { SettingsPage } from "./pages/SettingsPage.tsx";
import { href, useRoute, type Route } from "./router.ts";

const queryClient = new QueryClient();

function Page({ route }: { route: Route }) {
  if (!deployment) return <ErrorNotice error={new NoDeploymentError()} title="The dApp has no chain" />;
  switch (route.page) {
    case "datanets":
      return <DatanetsPage />;
    case "datanet-new":
      return <CreateDatanetPage />;
    case "datanet":
      return <DatanetPage id={route.id} />;
    case "nodes":
      return <NodesPage />;
    case "factory":
      return <ModelFactoryPage />;
    case "job":
      return <JobPage id={route.id} />;
    case "playground":
      return <PlaygroundPage />;
    case "rewards":
      return <RewardsPage />;
    case "models":
      return <ModelsPage />;
    case "settings":
      return <SettingsPage />;
    case "not-found":
      return (
        <div className="state empty">
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href={href({ page: "datanets" })}>Browse Datanets</a>.
          </p>
        </div>
      );
  }
}

export function App() {
  const route = useRoute();
  return (
    <WagmiProvider config={wagmiConfig}>
      <QueryClientProvider client={queryClient}>
        <RainbowKitProvider theme={darkTheme({ accentColor: "#3ddc97", accentColorForeground: "#06140d" })} modalSize="compact">
          <Layout route={route}>
            {deployment && <Faucet />}
            <Page key={route.page === "datanet" || route.page === "job" ? `${route.page}-${route.id}` : route.page} route={route} />
          </Layout>
        </RainbowKitProvider>
      </QueryClientProvider>
    </WagmiProvider>
  );
}
