export * from "./messages.ts";
export { PeerConnectError, PeerNetwork, type Announcement, type PeerNetworkOptions } from "./peer-network.ts";
