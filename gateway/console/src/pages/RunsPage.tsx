/**
 * Runs: activation runs (filter by status) with their steps and transitions, followed live; retry and cancel; and
 * what is stuck on the way to cash — postings held back past their SLA, stuck transactions — with billing
 * exceptions as they are raised and resolved (billingExceptionChanged).
 */
import { useEffect, useState } from 'react';
import { ErrorLine, Section, Status } from '../components';
import { formatInstant, formatSeconds } from '../format';
import { graphql, subscribe } from '../graphqlClient';
import { useGraphQL } from '../useGraphQL';

const RUN_STATUSES = [
  'REQUESTED',
  'VALIDATING',
  'VALIDATION_FAILED',
  'EXCEPTION_OPEN',
  'ERP_PROVISIONING',
  'PSA_PROVISIONING',
  'LINKING',
  'ACTIVE',
  'COMPENSATING',
  'COMPENSATED',
  'NEEDS_ATTENTION',
  'CANCELLED',
];

const RUNS = `query ConsoleRuns($filter: ActivationRunFilter) {
  activationRuns(filter: $filter, first: 50) { totalCount nodes { id status trigger region requestedAt activatedAt cycleTimeSeconds opportunity { id } } }
}`;

const RUN = `query ConsoleRun($id: ID!) {
  activationRun(id: $id) {
    id status cause trigger region requestedAt closedWonAt activatedAt cycleTimeSeconds opportunity { id }
    steps { name status attempts compensationAttempts startedAt finishedAt error }
    transitions { from to at reason }
    exceptions { id type status }
    externalIds { erpCustomerId erpProjectCode psaProjectId }
  }
}`;

const STUCK = `query ConsoleStuck {
  stuckPostings(olderThanMinutes: 60, first: 50) { sourceKey kind recordId status approvedAt openExceptions { type message resolution } }
  stuckTransactions(olderThanMinutes: 60, first: 50) { kind reference since cause owner fix }
}`;

const BILLING_CHANGES = `subscription ConsoleBillingExceptions { billingExceptionChanged { eventId change at exception { id type ownerTeam message project { id } } } }`;

interface RunRow {
  id: string;
  status: string;
  trigger: string;
  region: string | null;
  requestedAt: string;
  activatedAt: string | null;
  cycleTimeSeconds: number | null;
  opportunity: { id: string };
}

interface RunDetail extends RunRow {
  cause: string | null;
  closedWonAt: string | null;
  steps: Array<{
    name: string;
    status: string;
    attempts: number;
    compensationAttempts: number;
    startedAt: string | null;
    finishedAt: string | null;
    error: string | null;
  }>;
  transitions: Array<{ from: string | null; to: string; at: string; reason: string | null }>;
  exceptions: Array<{ id: string; type: string; status: string }>;
  externalIds: { erpCustomerId: string | null; erpProjectCode: string | null; psaProjectId: string | null };
}

export function RunsPage() {
  const [status, setStatus] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  // New runs arrive by no subscription (activationUpdated follows given runs): the list refreshes itself.
  const runs = useGraphQL<{ activationRuns: { totalCount: number; nodes: RunRow[] } }>(RUNS, { filter: status ? { status: [status] } : null }, 15_000);
  return (
    <>
      <div className="split">
        <Section
          title="Activation runs"
          actions={
            <>
              <label>
                Status{' '}
                <select value={status} onChange={(event) => setStatus(event.target.value)}>
                  <option value="">any</option>
                  {RUN_STATUSES.map((option) => (
                    <option key={option}>{option}</option>
                  ))}
                </select>
              </label>
              <button onClick={runs.reload}>Refresh</button>
            </>
          }
        >
          <ErrorLine error={runs.error} />
          <table aria-label="Activation runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Deal</th>
                <th scope="col">Status</th>
                <th scope="col">Region</th>
                <th scope="col">Requested</th>
                <th scope="col">Cycle time</th>
              </tr>
            </thead>
            <tbody>
              {runs.data?.activationRuns.nodes.map((run) => (
                <tr key={run.id} aria-selected={run.id === selected}>
                  <td>
                    <button className="link" onClick={() => setSelected(run.id)} aria-label={`Open run ${run.id}`}>
                      {run.id}
                    </button>
                  </td>
                  <td>{run.opportunity.id}</td>
                  <td>
                    <Status value={run.status} />
                  </td>
                  <td>{run.region ?? '—'}</td>
                  <td>{formatInstant(run.requestedAt)}</td>
                  <td>{formatSeconds(run.cycleTimeSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        {selected && <RunView key={selected} id={selected} onChanged={runs.reload} />}
      </div>
      <Stuck />
      <BillingExceptionFeed />
    </>
  );
}

function RunView(props: { id: string; onChanged: () => void }) {
  const run = useGraphQL<{ activationRun: RunDetail | null }>(RUN, { id: props.id });
  const [error, setError] = useState<Error | null>(null);
  const { reload } = run;
  const { onChanged } = props;
  useEffect(
    () =>
      subscribe(`subscription ConsoleRunView($runId: ID!) { activationUpdated(runId: $runId) { eventId status } }`, { runId: props.id }, () => {
        reload();
        onChanged();
      }),
    [props.id, reload, onChanged],
  );
  const act = async (mutation: string) => {
    setError(null);
    try {
      await graphql(mutation, { runId: props.id });
      run.reload();
      props.onChanged();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const detail = run.data?.activationRun;
  return (
    <section aria-label="Run detail" className="section detail">
      <ErrorLine error={run.error ?? error} />
      {detail && (
        <>
          <header className="section-header">
            <h2>Run {detail.id}</h2>
            <Status value={detail.status} />
          </header>
          <dl className="facts">
            <dt>Deal</dt>
            <dd>{detail.opportunity.id}</dd>
            <dt>Cause</dt>
            <dd>{detail.cause ?? '—'}</dd>
            <dt>Trigger</dt>
            <dd>{detail.trigger}</dd>
            <dt>IDs</dt>
            <dd>
              ERP customer {detail.externalIds.erpCustomerId ?? '—'}, job {detail.externalIds.erpProjectCode ?? '—'}, PSA{' '}
              {detail.externalIds.psaProjectId ?? '—'}
            </dd>
            <dt>Exceptions</dt>
            <dd>{detail.exceptions.map((exception) => `${exception.type} (${exception.status})`).join(', ') || 'none'}</dd>
          </dl>
          <div className="actions" role="group" aria-label="Run actions">
            <button onClick={() => void act(`mutation ConsoleRetryRun($runId: ID!) { retryActivation(runId: $runId) { id status } }`)}>Retry run</button>
            <button onClick={() => void act(`mutation ConsoleCancelRun($runId: ID!) { cancelActivation(runId: $runId) { id status } }`)}>Cancel run</button>
          </div>
          <h3>Steps</h3>
          <table aria-label="Run steps">
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {detail.steps.map((step) => (
                <tr key={step.name}>
                  <td>{step.name}</td>
                  <td>
                    <Status value={step.status} />
                  </td>
                  <td>
                    {step.attempts}
                    {step.compensationAttempts ? ` (+${step.compensationAttempts} undo)` : ''}
                  </td>
                  <td>{formatInstant(step.startedAt)}</td>
                  <td>{formatInstant(step.finishedAt)}</td>
                  <td>{step.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Transitions</h3>
          <ol aria-label="Run transitions" className="history">
            {detail.transitions.map((transition, index) => (
              <li key={index}>
                {formatInstant(transition.at)} {transition.from ?? '∅'} → {transition.to}
                {transition.reason ? ` (${transition.reason})` : ''}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function Stuck() {
  const stuck = useGraphQL<{
    stuckPostings: Array<{
      sourceKey: string;
      kind: string;
      recordId: string;
      status: string;
      approvedAt: string;
      openExceptions: Array<{ type: string; message: string; resolution: string }>;
    }>;
    stuckTransactions: Array<{ kind: string; reference: string; since: string; cause: string; owner: string; fix: string }>;
  }>(STUCK);
  return (
    <Section title="Stuck" actions={<button onClick={stuck.reload}>Refresh</button>}>
      <ErrorLine error={stuck.error} />
      <table aria-label="Stuck postings">
        <thead>
          <tr>
            <th scope="col">Posting</th>
            <th scope="col">Status</th>
            <th scope="col">Approved</th>
            <th scope="col">Held back by</th>
          </tr>
        </thead>
        <tbody>
          {stuck.data?.stuckPostings.length === 0 && (
            <tr>
              <td colSpan={4}>None past their SLA.</td>
            </tr>
          )}
          {stuck.data?.stuckPostings.map((line) => (
            <tr key={line.sourceKey}>
              <td>{line.sourceKey}</td>
              <td>
                <Status value={line.status} />
              </td>
              <td>{formatInstant(line.approvedAt)}</td>
              <td>{line.openExceptions.map((exception) => `${exception.type}: ${exception.resolution}`).join('; ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table aria-label="Stuck transactions">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Reference</th>
            <th scope="col">Since</th>
            <th scope="col">Cause</th>
            <th scope="col">Owner</th>
            <th scope="col">Fix</th>
          </tr>
        </thead>
        <tbody>
          {stuck.data?.stuckTransactions.map((item) => (
            <tr key={`${item.kind}|${item.reference}`}>
              <td>{item.kind}</td>
              <td>{item.reference}</td>
              <td>{formatInstant(item.since)}</td>
              <td>{item.cause}</td>
              <td>{item.owner}</td>
              <td>{item.fix}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function BillingExceptionFeed() {
  const [changes, setChanges] = useState<
    Array<{ eventId: string; change: string; at: string; exception: { id: string; type: string; ownerTeam: string; message: string } }>
  >([]);
  useEffect(
    () =>
      subscribe<{ billingExceptionChanged: (typeof changes)[number] }>(BILLING_CHANGES, {}, ({ billingExceptionChanged: change }) =>
        setChanges((seen) => (seen.some((other) => other.eventId === change.eventId) ? seen : [change, ...seen].slice(0, 50))),
      ),
    [],
  );
  return (
    <Section title="Billing exceptions, live">
      <ol aria-label="Billing exception changes" className="history">
        {changes.length === 0 && <li className="muted">Waiting for changes…</li>}
        {changes.map((change) => (
          <li key={change.eventId}>
            {formatInstant(change.at)} {change.change} {change.exception.type} ({change.exception.ownerTeam}): {change.exception.message}
          </li>
        ))}
      </ol>
    </Section>
  );
}
