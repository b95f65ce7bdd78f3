/**
 * The node's peer-to-peer layer on the libp2p node Helia already runs (one identity, one set of
 * connections for bitswap and gossip): gossipsub topics for model announcements and job progress,
 * and dialing the peers a node is configured with.
 *
 * Messages are signed by the sender's libp2p key (gossipsub StrictSign) and verified by gossipsub on
 * receipt; the callback gets the signer's peer id as `from`. Invalid messages are rejected in the
 * topic validator, so they are neither delivered nor forwarded and their sender is scored down.
 */
import { TopicValidatorResult, type GossipSub, type Message } from "@libp2p/gossipsub";
import type { Libp2p, PeerId } from "@libp2p/interface";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { decodeMessage, encodeMessage, InvalidMessageError, TOPICS, type Topic, type TopicMessages } from "./messages.ts";

export interface Announcement<T extends Topic> {
  topic: T;
  /** The peer that signed the message. */
  from: string;
  message: TopicMessages[T];
}

export interface PeerNetworkOptions {
  /** Told about every message a validator rejected (for logs and metrics). */
  onRejected?: (topic: string, from: string, error: InvalidMessageError) => void;
}

export class PeerConnectError extends Error {
  override name = "PeerConnectError";
  readonly address: string;

  constructor(address: string, message: string) {
    super(message);
    this.address = address;
  }
}

type Listener = (announcement: Announcement<Topic>) => void;

export class PeerNetwork {
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>;
  readonly #listeners = new Map<Topic, Set<Listener>>();
  readonly #onRejected: PeerNetworkOptions["onRejected"];
  #started = false;

  constructor(libp2p: Libp2p<{ pubsub: GossipSub }>, options: PeerNetworkOptions = {}) {
    this.libp2p = libp2p;
    this.#onRejected = options.onRejected;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  /** Addresses other nodes can dial (`/ip4/.../tcp/.../p2p/<peer id>`). */
  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map(String);
  }

  /** Connected peers. */
  peers(): string[] {
    return this.libp2p.getPeers().map(String);
  }

  /** Subscribes to every Tributary topic. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const pubsub = this.libp2p.services.pubsub;
    for (const topic of Object.values(TOPICS)) {
      pubsub.topicValidators.set(topic, (peer: PeerId, message: Message) => {
        if (message.type !== "signed") return TopicValidatorResult.Reject;
        try {
          decodeMessage(topic, message.data);
          return TopicValidatorResult.Accept;
        } catch (err) {
          if (err instanceof InvalidMessageError) this.#onRejected?.(topic, peer.toString(), err);
          return TopicValidatorResult.Reject;
        }
      });
      pubsub.subscribe(topic);
    }
    pubsub.addEventListener("message", this.#deliver);
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    const pubsub = this.libp2p.services.pubsub;
    pubsub.removeEventListener("message", this.#deliver);
    for (const topic of Object.values(TOPICS)) {
      pubsub.unsubscribe(topic);
      pubsub.topicValidators.delete(topic);
    }
  }

  /** Publishes a message (validated first); returns how many peers it was sent to directly. */
  async announce<T extends Topic>(topic: T, message: TopicMessages[T]): Promise<{ recipients: number }> {
    const result = await this.libp2p.services.pubsub.publish(topic, encodeMessage(topic, message));
    return { recipients: result.recipients.length };
  }

  /** Calls `callback` with every valid message on `topic`; returns a function that stops it. */
  onAnnouncement<T extends Topic>(topic: T, callback: (announcement: Announcement<T>) => void): () => void {
    let set = this.#listeners.get(topic);
    if (!set) this.#listeners.set(topic, (set = new Set()));
    const listener = callback as Listener;
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Dials a peer by multiaddr (with its `/p2p/<peer id>`); returns its peer id. */
  async connect(address: string | Multiaddr, options: { timeoutMs?: number } = {}): Promise<string> {
    const text = address.toString();
    let ma: Multiaddr;
    try {
      ma = typeof address === "string" ? multiaddr(address) : address;
    } catch (err) {
      throw new PeerConnectError(text, `"${text}" is not a multiaddr: ${(err as Error).message}`);
    }
    try {
      const connection = await this.libp2p.dial(ma, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
      return connection.remotePeer.toString();
    } catch (err) {
      throw new PeerConnectError(text, `Could not connect to peer ${text}: ${(err as Error).message}`);
    }
  }

  /** Dials every configured peer; failures are returned, not thrown, so one bad address does not stop the node. */
  async connectAll(addresses: readonly string[], options: { timeoutMs?: number } = {}): Promise<{ connected: string[]; failed: PeerConnectError[] }> {
    const results = await Promise.allSettled(addresses.map((a) => this.connect(a, options)));
    return {
      connected: results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
      failed: results.flatMap((r) => (r.status === "rejected" ? [r.reason as PeerConnectError] : [])),
    };
  }

  readonly #deliver = (event: CustomEvent<Message>) => {
    const message = event.detail;
    const topic = message.topic as Topic;
    const listeners = this.#listeners.get(topic);
    if (!listeners?.size || message.type !== "signed") return;
    let decoded: TopicMessages[Topic];
    try {
      decoded = decodeMessage(topic, message.data);
    } catch {
      return; // the validator already rejected it
    }
    const announcement = { topic, from: message.from.toString(), message: decoded };
    for (const listener of listeners) listener(announcement);
  };
}
