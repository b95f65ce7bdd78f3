/**
 * Playground: chat with a model a node serves, streaming, paid per request. The wallet authorizes a session key
 * (generated in this tab) once, with a spending cap and an expiry, and deposits escrow; then every message's voucher
 * is signed by the session key with no wallet prompt. Every answer shows its attribution.
 */
import { useQuery } from "@tanstack/react-query";
import { useMemo, useRef, useState } from "react";
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { useChainQuery } from "../chain/hooks.ts";
import { authorizeSessionKeyCall, depositCall, escrowBalanceOf, revokeSessionKeyCall, sessionKeyOf, settlementAddress } from "../chain/settlement.ts";
import { allowance, approveCall } from "../chain/token.ts";
import { AttributedAnswer } from "../components/AttributedAnswer.tsx";
import { Field } from "../components/Field.tsx";
import { ErrorNotice, Loading } from "../components/States.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import type { TributaryAttribution } from "../lib/attribution.ts";
import { formatPrice, formatTimestamp, formatToken, shortAddress } from "../lib/format.ts";
import { loadSessionKey, replaceSessionKey, sessionKeyStatus } from "../lib/session-key.ts";
import { parseTokenAmount } from "../lib/validation.ts";
import { listServedModels, payingFetchFor, streamChat, streamCompletion, type ChatMessage, type Payment } from "../node-api/serving.ts";
import { useNodeUrl } from "../settings.ts";

interface Turn {
  question: string;
  answer: string;
  attribution?: TributaryAttribution;
  error?: string;
  streaming: boolean;
}

export function PlaygroundPage() {
  const { address } = useAccount();
  return (
    <>
      <h1>Playground</h1>
      <p className="lead">Chat with a specialized model. Each answer is paid from your escrow by a session key this tab holds, and shows which contributions it came from.</p>
      {address ? <Playground payer={address} /> : <p className="state empty">Connect a wallet to pay for answers.</p>}
    </>
  );
}

function Playground({ payer }: { payer: Address }) {
  const nodeUrl = useNodeUrl();
  const [sessionKey, setSessionKey] = useState(() => loadSessionKey(payer));
  const [payments, setPayments] = useState<Payment[]>([]);
  // One paying fetch per key: it remembers each channel's cumulative amount between messages.
  const payingFetch = useMemo(() => payingFetchFor(sessionKey, payer, (p) => setPayments((list) => [...list, p])), [sessionKey, payer]);
  const models = useQuery({ queryKey: ["node", nodeUrl, "models"], queryFn: () => listServedModels(nodeUrl), retry: false });
  const [model, setModel] = useState("");
  const [input, setInput] = useState("");
  const [maxTokens, setMaxTokens] = useState("64");
  const [temperatureText, setTemperatureText] = useState("0");
  const [turns, setTurns] = useState<Turn[]>([]);
  // Chat applies the base model's chat template to the conversation; completion continues the text as written.
  const [mode, setMode] = useState<"chat" | "complete">("chat");
  const abort = useRef<AbortController | null>(null);
  const chosen = models.data?.find((m) => m.id === model) ?? models.data?.[0];
  const busy = turns.some((t) => t.streaming);
  const max = Number(maxTokens);
  const maxError = Number.isInteger(max) && max >= 1 && max <= 4096 ? undefined : "A whole number of tokens from 1 to 4096.";
  const temperature = Number(temperatureText);
  const temperatureError = temperatureText.trim() !== "" && temperature >= 0 && temperature <= 2 ? undefined : "A number from 0 to 2.";

  async function send() {
    if (!chosen || !input.trim() || maxError || temperatureError) return;
    const question = input.trim();
    setInput("");
    const history: ChatMessage[] = turns.filter((t) => !t.error).flatMap((t) => [{ role: "user" as const, content: t.question }, { role: "assistant" as const, content: t.answer }]);
    const index = turns.length;
    const update = (patch: Partial<Turn>) => setTurns((list) => list.map((t, i) => (i === index ? { ...t, ...patch } : t)));
    setTurns((list) => [...list, { question, answer: "", streaming: true }]);
    abort.current = new AbortController();
    try {
      const onText = (answer: string) => update({ answer });
      const { text, attribution } =
        mode === "chat"
          ? await streamChat(nodeUrl, payingFetch, { model: chosen.id, messages: [...history, { role: "user", content: question }], maxTokens: max, temperature }, onText, abort.current.signal)
          : await streamCompletion(nodeUrl, payingFetch, { model: chosen.id, prompt: question, maxTokens: max, temperature }, onText, abort.current.signal);
      update({ answer: text, attribution, streaming: false });
    } catch (error) {
      update({ error: (error as Error).name === "AbortError" ? "Stopped." : (error as Error).message, streaming: false });
    }
  }

  return (
    <div className="playground">
      <SessionKeyPanel payer={payer} keyAddress={sessionKey.address} onReplace={() => setSessionKey(replaceSessionKey(payer))} />

      <section aria-labelledby="chat-heading" className="chat">
        <h2 id="chat-heading">Chat</h2>
        {models.isPending ? (
          <Loading what="the node's models" />
        ) : models.isError ? (
          <ErrorNotice error={models.error} title="Could not list the node's models" />
        ) : models.data.length === 0 ? (
          <p className="state empty">The node at {nodeUrl} serves no priced model yet: deploy one from its job's page.</p>
        ) : (
          <div className="field">
            <label htmlFor="chat-model">Model</label>
            <select id="chat-model" value={chosen?.id ?? ""} onChange={(e) => setModel(e.target.value)}>
              {models.data.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id} on {m.baseModel}: {formatPrice(m.pricePer1kTokens)} per 1k tokens
                </option>
              ))}
            </select>
          </div>
        )}
        <ol className="turns" aria-live="polite">
          {turns.map((t, i) => (
            <li key={i} className="turn">
              <p className="question">
                <span className="visually-hidden">You: </span>
                {t.question}
              </p>
              <div className="answer" aria-busy={t.streaming}>
                <span className="visually-hidden">Answer: </span>
                {t.error ? <p className="field-error" role="alert">{t.error}</p> : t.streaming ? <p className="answer-text">{t.answer || "…"}</p> : <AttributedAnswer text={t.answer} attribution={t.attribution} />}
              </div>
            </li>
          ))}
        </ol>
        <form
          className="composer"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <fieldset>
            <legend>Mode</legend>
            <div className="field checkbox inline">
              <input type="radio" id="mode-chat" name="mode" checked={mode === "chat"} onChange={() => setMode("chat")} />
              <label htmlFor="mode-chat">Chat (the conversation, in the model's chat template)</label>
            </div>
            <div className="field checkbox inline">
              <input type="radio" id="mode-complete" name="mode" checked={mode === "complete"} onChange={() => setMode("complete")} />
              <label htmlFor="mode-complete">Complete (continue the text as written)</label>
            </div>
          </fieldset>
          <div className="field">
            <label htmlFor="chat-input">Message</label>
            <textarea id="chat-input" rows={3} value={input} onChange={(e) => setInput(e.target.value)} onKeyDown={(e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); void send(); } }} />
          </div>
          <Field label="Longest answer (tokens)" hint="You pay for the prompt plus this many tokens at the model's price." error={maxError} inputMode="numeric" value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} />
          <Field label="Temperature" hint="0 always picks the most likely token (the same answer every time); higher varies it." error={temperatureError} inputMode="decimal" value={temperatureText} onChange={(e) => setTemperatureText(e.target.value)} />
          <div className="toolbar">
            <button type="submit" className="button primary" disabled={!chosen || !input.trim() || busy || Boolean(maxError) || Boolean(temperatureError)}>
              Send
            </button>
            {busy && (
              <button type="button" className="button secondary" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            )}
          </div>
        </form>
        {payments.length > 0 && (
          <p className="hint" data-testid="spent">
            This tab paid {payments.length} {payments.length === 1 ? "answer" : "answers"}, {formatPrice(payments.reduce((sum, p) => sum + p.cost, 0n))} in all (signed by the session key, no wallet prompt).
          </p>
        )}
      </section>
    </div>
  );
}

function SessionKeyPanel({ payer, keyAddress, onReplace }: { payer: Address; keyAddress: Address; onReplace: () => void }) {
  const key = useChainQuery(["sessionKey", payer, keyAddress], (client) => sessionKeyOf(client, payer, keyAddress));
  const escrow = useChainQuery(["escrow", payer], (client) => escrowBalanceOf(client, payer));
  const spendable = useChainQuery(["allowance", payer, "settlement"], (client) => allowance(client, payer, settlementAddress()));
  const [capText, setCapText] = useState("5");
  const [hoursText, setHoursText] = useState("24");
  const [depositText, setDepositText] = useState("10");
  const cap = parseTokenAmount(capText, { allowZero: false });
  const hours = Number(hoursText);
  const hoursError = Number.isInteger(hours) && hours >= 1 && hours <= 24 * 30 ? undefined : "Whole hours from 1 to 720.";
  const deposit = parseTokenAmount(depositText, { allowZero: false });
  const status = key.data ? sessionKeyStatus(key.data, BigInt(Math.floor(Date.now() / 1000))) : undefined;
  return (
    <section className="panel" aria-labelledby="session-heading">
      <h2 id="session-heading">Paying</h2>
      <dl className="facts">
        <dt>Escrow</dt>
        <dd data-testid="escrow">{escrow.data === undefined ? "…" : formatToken(escrow.data)}</dd>
        <dt>Session key</dt>
        <dd>
          <code title={keyAddress}>{shortAddress(keyAddress)}</code> (kept in this tab only)
        </dd>
        <dt>Key status</dt>
        <dd data-testid="session-status">
          {status === undefined && "…"}
          {status === "unauthorized" && "not authorized yet"}
          {status === "expired" && `expired at ${formatTimestamp(key.data!.expiresAt)}`}
          {status === "exhausted" && `spent its whole cap of ${formatToken(key.data!.cap)}`}
          {status === "active" && `may spend ${formatToken(key.data!.cap - key.data!.spent)} more until ${formatTimestamp(key.data!.expiresAt)}`}
        </dd>
      </dl>
      {status !== "active" && (
        <div className="field-grid">
          <Field label="Spending cap (TRIB)" hint="The most this key can ever spend." error={typeof cap === "string" ? cap : undefined} inputMode="decimal" value={capText} onChange={(e) => setCapText(e.target.value)} />
          <Field label="Valid for (hours)" error={hoursError} inputMode="numeric" value={hoursText} onChange={(e) => setHoursText(e.target.value)} />
        </div>
      )}
      <div className="toolbar">
        {status !== "active" && (
          <TransactionButton
            call={typeof cap === "bigint" && !hoursError ? authorizeSessionKeyCall(keyAddress, cap, BigInt(Math.floor(Date.now() / 1000) + hours * 3600)) : null}
            label="Authorize the session key"
          />
        )}
        {status === "active" && <TransactionButton call={revokeSessionKeyCall(keyAddress)} variant="secondary" onConfirmed={onReplace} />}
        {(status === "expired" || status === "exhausted") && (
          <button type="button" className="button secondary" onClick={onReplace}>
            Use a new key
          </button>
        )}
      </div>
      <Field label="Deposit (TRIB)" hint="Escrow pays the nodes; you can withdraw what is left after a delay." error={typeof deposit === "string" ? deposit : undefined} inputMode="decimal" value={depositText} onChange={(e) => setDepositText(e.target.value)} />
      <div className="toolbar">
        {typeof deposit === "bigint" && (spendable.data ?? 0n) < deposit && <TransactionButton call={approveCall(settlementAddress(), deposit, "Settlement", "deposit")} variant="secondary" />}
        <TransactionButton call={typeof deposit === "bigint" && (spendable.data ?? 0n) >= deposit ? depositCall(deposit) : null} label="Deposit into escrow" variant="secondary" />
      </div>
    </section>
  );
}
