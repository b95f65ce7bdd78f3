/**
 * One training job: its on-chain state, its live progress from the node (phase, step, loss curve, ETA), the
 * evaluation report of the minted model with what it means, deploying the model (price and revenue split), and
 * disputing the result while the window is open.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useAccount } from "wagmi";
import { useChainQuery } from "../chain/hooks.ts";
import { disputeJobResultCall, getJob, getModel, releaseJobPaymentCall, setModelPriceCall, setRevenueSplitCall, type JobRecord, type ModelRecord } from "../chain/models.ts";
import { EvaluationView } from "../components/EvaluationView.tsx";
import { Field } from "../components/Field.tsx";
import { LossCurve } from "../components/LossCurve.tsx";
import { Loading, QueryView } from "../components/States.tsx";
import { TransactionButton } from "../components/TransactionButton.tsx";
import { formatBps, formatTimestamp, formatToken, shortAddress } from "../lib/format.ts";
import { formatDuration } from "../lib/hyperparameters.ts";
import { applyJobEvent, EMPTY_LIVE_JOB, type LiveJob } from "../lib/job-progress.ts";
import { parseTokenAmount } from "../lib/validation.ts";
import { jobDisputeDocument, uploadDocument } from "../node-api/documents.ts";
import { fetchJson } from "../node-api/gateway.ts";
import { watchJobEvents } from "../node-api/jobs.ts";
import { href } from "../router.ts";
import { useNodeUrl } from "../settings.ts";

export function JobPage({ id }: { id: bigint }) {
  // A node works on the job meanwhile: follow the chain until it submits (which mints the model).
  const job = useChainQuery(["job", id.toString()], (client) => getJob(client, id), true, (j) => (j?.status === "Open" ? 3_000 : false));
  return (
    <>
      <p>
        <a href={href({ page: "factory" })}>← ModelFactory</a>
      </p>
      <h1>Training job #{id.toString()}</h1>
      <QueryView query={job} what="the job">
        {(j) => <JobDetails job={j} />}
      </QueryView>
    </>
  );
}

function JobDetails({ job }: { job: JobRecord }) {
  const { address } = useAccount();
  const model = useChainQuery(["model", job.modelId.toString()], (client) => getModel(client, job.modelId), job.modelId > 0n);
  const isRequester = address?.toLowerCase() === job.requester.toLowerCase();
  const now = BigInt(Math.floor(Date.now() / 1000));
  return (
    <>
      <dl className="facts">
        <dt>Status</dt>
        <dd><span className="badge" data-testid="job-status">{job.status}</span></dd>
        <dt>Datanet</dt>
        <dd><a href={href({ page: "datanet", id: job.datanetId })}>Datanet #{job.datanetId.toString()}</a> v{job.datanetVersion}</dd>
        <dt>Base model</dt>
        <dd>#{job.baseModelId.toString()}</dd>
        <dt>Fee</dt>
        <dd>{formatToken(job.fee)}</dd>
        <dt>Requester</dt>
        <dd title={job.requester}>{shortAddress(job.requester)}</dd>
        <dt>Deadline</dt>
        <dd>{formatTimestamp(job.deadline)}</dd>
        {job.leaseHolder !== "0x0000000000000000000000000000000000000000" && (
          <>
            <dt>Node</dt>
            <dd title={job.leaseHolder}>{shortAddress(job.leaseHolder)}</dd>
          </>
        )}
        <dt>Hyper-parameters</dt>
        <dd><code className="break">{job.hyperParamsCid}</code></dd>
        {job.modelId > 0n && (
          <>
            <dt>Model</dt>
            <dd><a href={href({ page: "models" })}>Model #{job.modelId.toString()}</a></dd>
          </>
        )}
      </dl>

      {(job.status === "Open" || job.status === "Completed" || job.status === "Submitted") && <LiveProgress jobId={job.id} />}

      {job.modelId > 0n && (
        <QueryView query={model} what="the model">
          {(m) => (
            <>
              <Evaluation model={m} />
              {address?.toLowerCase() === m.owner.toLowerCase() && <Deploy model={m} />}
            </>
          )}
        </QueryView>
      )}

      {job.status === "Submitted" && job.payableAt > 0n && (
        <section className="panel" aria-labelledby="dispute-heading">
          <h2 id="dispute-heading">Dispute window</h2>
          {now < job.payableAt ? (
            <>
              <p>The node is paid at {formatTimestamp(job.payableAt)} unless the requester disputes the result before then; the job arbiter rules on a dispute.</p>
              {isRequester ? <Dispute jobId={job.id} modelId={job.modelId} /> : <p className="hint">Only the requester can dispute.</p>}
            </>
          ) : (
            <>
              <p>The window closed at {formatTimestamp(job.payableAt)}: anyone may release the fee to the node.</p>
              <TransactionButton call={releaseJobPaymentCall(job.id)} variant="secondary" />
            </>
          )}
        </section>
      )}
      {job.status === "Disputed" && <p className="panel">The requester disputed this result; the job arbiter will rule (upheld: refund; rejected: the node is paid).</p>}
    </>
  );
}

function LiveProgress({ jobId }: { jobId: bigint }) {
  const nodeUrl = useNodeUrl();
  const [live, setLive] = useState<LiveJob>(EMPTY_LIVE_JOB);
  const [unreachable, setUnreachable] = useState(false);
  useEffect(() => {
    setLive(EMPTY_LIVE_JOB);
    return watchJobEvents(
      nodeUrl,
      jobId,
      (event, data) => {
        setUnreachable(false);
        setLive((state) => applyJobEvent(state, event, data));
      },
      () => setUnreachable(true),
    );
  }, [nodeUrl, jobId]);
  const fraction = live.step !== undefined && live.totalSteps ? Math.min(1, live.step / live.totalSteps) : undefined;
  // Once the node is done with the job, the last phase's ETA and message are history, not news.
  const ended = live.status === "completed" || live.status === "failed";
  return (
    <section className="panel" aria-labelledby="progress-heading">
      <h2 id="progress-heading">Training on the node</h2>
      {unreachable && live.status === undefined && <p className="hint">The node at {nodeUrl} has no live record of this job yet (not claimed by it, or not reachable); this refreshes by itself.</p>}
      <dl className="facts" aria-live="polite">
        <dt>Node status</dt>
        <dd data-testid="live-status">{live.status ?? "waiting for a node"}</dd>
        <dt>Phase</dt>
        <dd data-testid="live-phase">{live.status === "completed" ? "all done" : (live.phase ?? "none yet")}</dd>
        {live.step !== undefined && (
          <>
            <dt>Step</dt>
            <dd>
              {live.step}
              {live.totalSteps ? ` of ${live.totalSteps}` : ""}
            </dd>
          </>
        )}
        {live.etaSeconds !== undefined && !ended && (
          <>
            <dt>Time left</dt>
            <dd>about {formatDuration(live.etaSeconds)}</dd>
          </>
        )}
        {live.tokensPerSecond !== undefined && (
          <>
            <dt>Speed</dt>
            <dd>{Math.round(live.tokensPerSecond).toLocaleString("en-US")} tokens/s</dd>
          </>
        )}
        {live.reason && (
          <>
            <dt>Reason</dt>
            <dd className="field-error">{live.reason}</dd>
          </>
        )}
      </dl>
      {fraction !== undefined && <progress max={1} value={fraction} aria-label="Training progress" />}
      {live.message && !ended && <p>{live.message}</p>}
      <LossCurve points={live.losses} />
    </section>
  );
}

function Evaluation({ model }: { model: ModelRecord }) {
  const nodeUrl = useNodeUrl();
  const cid = model.provenance.evaluationCid;
  const report = useQuery({ queryKey: ["ipfs", nodeUrl, cid], queryFn: () => fetchJson(nodeUrl, cid, fetch, 10_000), staleTime: Infinity, retry: false });
  return (
    <section className="panel" aria-labelledby="evaluation-heading">
      <h2 id="evaluation-heading">Evaluation</h2>
      {report.isPending ? (
        <Loading what="the evaluation report" />
      ) : report.data === undefined ? (
        <p className="hint">
          The node at {nodeUrl} cannot serve the report <code className="break">{cid}</code>.
        </p>
      ) : (
        <EvaluationView document={report.data} />
      )}
    </section>
  );
}

function Deploy({ model }: { model: ModelRecord }) {
  const [priceText, setPriceText] = useState(model.pricePer1kTokens > 0n ? "" : "0.01");
  const [split, setSplit] = useState({ ownerBps: String(model.split.ownerBps), contributorBps: String(model.split.contributorBps), nodeBps: String(model.split.nodeBps) });
  const price = parseTokenAmount(priceText, { allowZero: false });
  const bps = { ownerBps: Number(split.ownerBps), contributorBps: Number(split.contributorBps), nodeBps: Number(split.nodeBps) };
  const validBps = Object.values(bps).every((v) => Number.isInteger(v) && v >= 0 && v <= 10_000);
  const total = bps.ownerBps + bps.contributorBps + bps.nodeBps;
  const splitError = !validBps ? "Each share is a whole number of basis points (0–10,000)." : total !== 10_000 ? `The shares add up to ${total.toLocaleString("en-US")}; they must add up to 10,000 (100%).` : undefined;
  return (
    <section className="panel" aria-labelledby="deploy-heading">
      <h2 id="deploy-heading">Deploy</h2>
      <p>
        Now: {model.pricePer1kTokens === 0n ? "not priced (nodes do not serve it yet)" : `${formatToken(model.pricePer1kTokens)} per 1k tokens`}; owner {formatBps(model.split.ownerBps)}, contributors{" "}
        {formatBps(model.split.contributorBps)}, node {formatBps(model.split.nodeBps)}. Each change is a new terms version; vouchers already signed keep their terms.
      </p>
      <Field label="Price per 1,000 tokens (TRIB)" error={priceText && typeof price === "string" ? price : undefined} inputMode="decimal" value={priceText} onChange={(e) => setPriceText(e.target.value)} />
      <TransactionButton call={typeof price === "bigint" ? setModelPriceCall(model.id, price) : null} label="Set the price" />
      <fieldset>
        <legend>Revenue split (basis points, 10,000 = 100%)</legend>
        <div className="field-grid">
          <Field label="Model owner" inputMode="numeric" value={split.ownerBps} onChange={(e) => setSplit({ ...split, ownerBps: e.target.value })} />
          <Field label="Contributors" inputMode="numeric" value={split.contributorBps} onChange={(e) => setSplit({ ...split, contributorBps: e.target.value })} />
          <Field label="Serving node" inputMode="numeric" value={split.nodeBps} onChange={(e) => setSplit({ ...split, nodeBps: e.target.value })} />
        </div>
        {splitError && <p className="field-error">{splitError}</p>}
      </fieldset>
      <TransactionButton call={splitError ? null : setRevenueSplitCall(model.id, bps)} label="Set the revenue split" variant="secondary" />
    </section>
  );
}

function Dispute({ jobId, modelId }: { jobId: bigint; modelId: bigint }) {
  const nodeUrl = useNodeUrl();
  const [reason, setReason] = useState("");
  const [stored, setStored] = useState<{ status: "idle" | "uploading" } | { status: "done"; cid: string; reason: string } | { status: "failed"; message: string }>({ status: "idle" });
  const reasonCid = stored.status === "done" && stored.reason === reason ? stored.cid : undefined;
  async function store() {
    setStored({ status: "uploading" });
    try {
      setStored({ status: "done", cid: await uploadDocument(nodeUrl, jobDisputeDocument(jobId, modelId, reason)), reason });
    } catch (error) {
      setStored({ status: "failed", message: (error as Error).message });
    }
  }
  return (
    <>
      <div className="field">
        <label htmlFor="dispute-reason">What is wrong with the result</label>
        <textarea id="dispute-reason" rows={3} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby="dispute-hint" />
        <p className="hint" id="dispute-hint">Stored on IPFS through the node as the evidence the arbiter reads (for example, the perplexity you measured yourself).</p>
      </div>
      <ol className="steps">
        <li>
          <button type="button" className="button secondary" onClick={store} disabled={reason.trim().length < 10 || stored.status === "uploading" || reasonCid !== undefined}>
            {reasonCid ? "Evidence stored" : "Store the evidence on the node"}
          </button>
          <div role="status" aria-live="polite">
            {reasonCid && <p className="ok">Stored as <code className="break">{reasonCid}</code>.</p>}
            {stored.status === "failed" && <p className="field-error" role="alert">{stored.message}</p>}
          </div>
        </li>
        <li>
          <TransactionButton call={reasonCid ? disputeJobResultCall(jobId, reasonCid) : null} label="Dispute the result" variant="danger" />
        </li>
      </ol>
    </>
  );
}
