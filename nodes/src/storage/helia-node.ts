/**
 * Builds the node's embedded IPFS peer: Helia with libp2p over TCP (noise, yamux), identify,
 * gossipsub for the node's topics (`nodes/src/p2p/`) and bitswap for blocks. Nothing else: no
 * bootstrap list, DHT, delegated routing, relay or public gateway, so the node never reaches for the
 * public network; it talks to the peers it is told about (`PeerNetwork.connect`).
 *
 * Blocks and the datastore (peer key, pins) live under `<dataDir>/ipfs`, so the peer id and pinned
 * content survive restarts. The blockstore is wrapped in a VerifyingBlockstore.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight, type HeliaWithLibp2p } from "@helia/libp2p";
import { gossipsub, type GossipSub } from "@libp2p/gossipsub";
import { identify, type Identify } from "@libp2p/identify";
import { tcp } from "@libp2p/tcp";
import { FsBlockstore } from "blockstore-fs";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight } from "helia";
import * as jsonCodec from "multiformats/codecs/json";
import type { CID } from "multiformats/cid";
import { VerifyingBlockstore } from "./verifying-blockstore.ts";

export type HeliaNodeServices = {
  identify: Identify;
  pubsub: GossipSub;
};

export type HeliaNode = HeliaWithLibp2p<HeliaNodeServices>;

export interface HeliaNodeOptions {
  /** The node's data directory; IPFS state goes to `<dataDir>/ipfs`. */
  dataDir: string;
  /** libp2p listen multiaddrs. Default: TCP on 127.0.0.1, a free port. */
  listen?: string[];
  /** Called when a block read from disk fails its CID check (it has been deleted already). */
  onCorruptBlock?: (cid: CID) => void;
}

export const DEFAULT_LISTEN = ["/ip4/127.0.0.1/tcp/0"];

export async function createHeliaNode(options: HeliaNodeOptions): Promise<HeliaNode> {
  const root = join(options.dataDir, "ipfs");
  await mkdir(root, { recursive: true });
  const blocks = new FsBlockstore(join(root, "blocks"));
  const datastore = new FsDatastore(join(root, "datastore"));
  await blocks.open();
  await datastore.open();
  try {
    const helia = createHeliaLight({
      blockstore: new VerifyingBlockstore(blocks, options.onCorruptBlock),
      datastore,
      codecs: [jsonCodec],
    });
    const withNetwork = withLibp2pLight(helia, {
      addresses: { listen: options.listen ?? DEFAULT_LISTEN },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        // Messages are signed by the sender's peer key (StrictSign) and checked on receipt.
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
      },
    });
    const node = withBitswap(withNetwork) as HeliaNode;
    await node.start();
    // Helia's stop does not close stores it was handed: close them when the node stops.
    const stop = node.stop.bind(node);
    node.stop = async () => {
      await stop();
      await blocks.close();
      await datastore.close();
      return node;
    };
    return node;
  } catch (err) {
    await blocks.close();
    await datastore.close();
    throw err;
  }
}
