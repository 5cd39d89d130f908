/**
 * The integration exception queue: filtered by status, type, region and system; one exception's detail (cause,
 * record, how to resolve, its run and history) with retry, waive, assign and note; a bulk retry after a preview
 * count; the open exception's run followed live (activationUpdated).
 */
import { type FormEvent, useEffect, useState } from 'react';
import { ErrorLine, Section, Status } from '../components';
import { formatInstant } from '../format';
import { graphql, subscribe } from '../graphqlClient';
import { useGraphQL } from '../useGraphQL';

/** New exceptions on runs nobody has open arrive by no subscription: the list refreshes itself this often. */
const LIST_REFRESH_MS = 15_000;
const STATUSES = ['OPEN', 'RESOLVED', 'WAIVED', 'CANCELLED'];
const REGIONS = ['NORTH_AMERICA', 'UK_IRELAND', 'EUROPE', 'APAC'];
const SYSTEMS = ['CRM', 'ERP', 'PSA', 'ACTIVATION'];

const QUEUE = `query ConsoleExceptions($filter: IntegrationExceptionFilter) {
  integrationExceptions(filter: $filter, first: 100) {
    totalCount
    nodes { id type system recordType recordId field region status raisedAt assignee run { id status } }
  }
  exceptionCounts(status: [OPEN, RESOLVED, WAIVED, CANCELLED]) { type }
}`;

const DETAIL = `query ConsoleException($id: ID!) {
  integrationException(id: $id) {
    id type message system recordType recordId field region status occurrences howToResolve raisedAt resolvedAt resolution resolutionNote assignee
    history { action by at detail }
    run { id status cause opportunity { id } transitions { from to at reason } }
  }
}`;

const RUN_UPDATES = `subscription ConsoleRunUpdates($runId: ID!) { activationUpdated(runId: $runId) { eventId previousStatus status reason at } }`;

interface QueueRow {
  id: string;
  type: string;
  system: string;
  recordType: string;
  recordId: string;
  field: string | null;
  region: string | null;
  status: string;
  raisedAt: string;
  assignee: string | null;
  run: { id: string; status: string };
}

interface Detail extends QueueRow {
  message: string;
  occurrences: number;
  howToResolve: string;
  resolvedAt: string | null;
  resolution: string | null;
  resolutionNote: string | null;
  history: Array<{ action: string; by: string; at: string; detail: string | null }>;
  run: QueueRow['run'] & {
    cause: string | null;
    opportunity: { id: string };
    transitions: Array<{ from: string | null; to: string; at: string; reason: string | null }>;
  };
}

interface Filter {
  status: string;
  type: string;
  region: string;
  system: string;
}

const asFilter = (filter: Filter) => ({
  ...(filter.status ? { status: [filter.status] } : {}),
  ...(filter.type ? { type: [filter.type] } : {}),
  ...(filter.region ? { region: [filter.region] } : {}),
  ...(filter.system ? { system: [filter.system] } : {}),
});

export function ExceptionsPage() {
  const [filter, setFilter] = useState<Filter>({ status: 'OPEN', type: '', region: '', system: '' });
  const [selected, setSelected] = useState<string | null>(null);
  const queue = useGraphQL<{ integrationExceptions: { totalCount: number; nodes: QueueRow[] }; exceptionCounts: Array<{ type: string }> }>(
    QUEUE,
    { filter: asFilter(filter) },
    LIST_REFRESH_MS,
  );
  const types = [...new Set(queue.data?.exceptionCounts.map((count) => count.type) ?? [])].sort();
  const select = (name: keyof Filter, label: string, options: readonly string[]) => (
    <label>
      {label}{' '}
      <select value={filter[name]} onChange={(event) => setFilter({ ...filter, [name]: event.target.value })}>
        <option value="">any</option>
        {options.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    </label>
  );
  return (
    <div className="split">
      <div>
        <Section title="Exception queue" actions={<button onClick={queue.reload}>Refresh</button>}>
          <form role="search" aria-label="Exception filters" className="filters" onSubmit={(event) => event.preventDefault()}>
            {select('status', 'Status', STATUSES)}
            {select('type', 'Type', filter.type && !types.includes(filter.type) ? [...types, filter.type] : types)}
            {select('region', 'Region', REGIONS)}
            {select('system', 'System', SYSTEMS)}
          </form>
          <BulkRetry filter={filter} onDone={queue.reload} />
          <ErrorLine error={queue.error} />
          <p className="muted">{queue.data ? `${queue.data.integrationExceptions.totalCount} exceptions` : queue.loading ? 'Loading…' : ''}</p>
          <table aria-label="Exception queue">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">System</th>
                <th scope="col">Record</th>
                <th scope="col">Region</th>
                <th scope="col">Status</th>
                <th scope="col">Assignee</th>
                <th scope="col">Run</th>
                <th scope="col">Raised</th>
              </tr>
            </thead>
            <tbody>
              {queue.data?.integrationExceptions.nodes.map((row) => (
                <tr key={row.id} aria-selected={row.id === selected}>
                  <td>
                    <button className="link" onClick={() => setSelected(row.id)} aria-label={`Open ${row.type} on ${row.recordType} ${row.recordId}`}>
                      {row.type}
                    </button>
                  </td>
                  <td>{row.system}</td>
                  <td>
                    {row.recordType} {row.recordId}
                    {row.field ? ` · ${row.field}` : ''}
                  </td>
                  <td>{row.region ?? '—'}</td>
                  <td>
                    <Status value={row.status} />
                  </td>
                  <td>{row.assignee ?? '—'}</td>
                  <td>
                    <Status value={row.run.status} />
                  </td>
                  <td>{formatInstant(row.raisedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      </div>
      {selected && <ExceptionDetail key={selected} id={selected} onChanged={queue.reload} onClose={() => setSelected(null)} />}
    </div>
  );
}

/** Retries every open exception the filter selects — only after the operator has seen how many. */
function BulkRetry(props: { filter: Filter; onDone: () => void }) {
  const [preview, setPreview] = useState<{ exceptions: number; runs: number } | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const key = JSON.stringify(props.filter);
  useEffect(() => setPreview(null), [key]);
  const mutation = `mutation ConsoleBulkRetry($filter: IntegrationExceptionFilter!, $preview: Boolean!) {
    retryExceptions(filter: $filter, preview: $preview) { exceptions runs retried }
  }`;
  const run = async (asPreview: boolean) => {
    setError(null);
    try {
      const { retryExceptions } = await graphql<{ retryExceptions: { exceptions: number; runs: number; retried: number } }>(mutation, {
        filter: asFilter(props.filter),
        preview: asPreview,
      });
      if (asPreview) setPreview(retryExceptions);
      else {
        setPreview(null);
        setOutcome(`Retried ${retryExceptions.retried} of ${retryExceptions.exceptions} exceptions.`);
        props.onDone();
      }
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <div className="bulk" role="group" aria-label="Bulk retry">
      <button onClick={() => void run(true)}>Preview bulk retry</button>
      {preview && (
        <>
          <span role="status">
            {preview.exceptions} open exceptions on {preview.runs} runs match.
          </span>
          <button disabled={preview.exceptions === 0} onClick={() => void run(false)}>
            Retry {preview.exceptions} exceptions
          </button>
        </>
      )}
      {outcome && <span role="status">{outcome}</span>}
      <ErrorLine error={error} />
    </div>
  );
}

function ExceptionDetail(props: { id: string; onChanged: () => void; onClose: () => void }) {
  const detail = useGraphQL<{ integrationException: Detail | null }>(DETAIL, { id: props.id });
  const [error, setError] = useState<Error | null>(null);
  const [updates, setUpdates] = useState<Array<{ eventId: string; status: string; at: string }>>([]);
  const [liveStatus, setLiveStatus] = useState<string | null>(null);
  const exception = detail.data?.integrationException ?? null;
  const runId = exception?.run.id ?? null;
  const { reload } = detail;
  const { onChanged } = props;
  useEffect(() => {
    if (!runId) return undefined;
    return subscribe<{ activationUpdated: { eventId: string; status: string; at: string } }>(RUN_UPDATES, { runId }, ({ activationUpdated: update }) => {
      // Delivered at least once: the event ID tells a repeat.
      setUpdates((seen) => (seen.some((other) => other.eventId === update.eventId) ? seen : [...seen, update]));
      setLiveStatus(update.status);
      reload();
      onChanged();
    });
  }, [runId, reload, onChanged]);

  const act = async (query: string, variables: Record<string, unknown>) => {
    setError(null);
    try {
      await graphql(query, { id: props.id, ...variables });
      detail.reload();
      props.onChanged();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  const resolve = (action: 'RETRY' | 'WAIVE') =>
    act(`mutation ConsoleResolve($id: ID!, $action: ExceptionAction!) { resolveException(id: $id, resolution: { action: $action }) { id status } }`, {
      action,
    });

  if (!exception) {
    return (
      <Section title="Exception detail">
        <ErrorLine error={detail.error} />
        {!detail.error && <p>Loading…</p>}
      </Section>
    );
  }
  const open = exception.status === 'OPEN';
  const runStatus = liveStatus && updates.length > 0 ? liveStatus : exception.run.status;
  return (
    <section aria-label="Exception detail" className="section detail">
      <header className="section-header">
        <h2>
          {exception.type} on {exception.recordType} {exception.recordId}
        </h2>
        <button onClick={props.onClose} aria-label="Close detail">
          ×
        </button>
      </header>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <Status value={exception.status} /> {exception.resolution ? `${exception.resolution} ${formatInstant(exception.resolvedAt)}` : ''}
        </dd>
        <dt>Cause</dt>
        <dd>{exception.message}</dd>
        <dt>Record</dt>
        <dd>
          {exception.system}: {exception.recordType} {exception.recordId}
          {exception.field ? `, field ${exception.field}` : ''}
        </dd>
        <dt>How to resolve</dt>
        <dd>{exception.howToResolve}</dd>
        <dt>Region</dt>
        <dd>{exception.region ?? '—'}</dd>
        <dt>Raised</dt>
        <dd>
          {formatInstant(exception.raisedAt)} ({exception.occurrences}× seen)
        </dd>
        <dt>Assignee</dt>
        <dd>{exception.assignee ?? 'nobody'}</dd>
        <dt>Run</dt>
        <dd>
          {exception.run.id} (deal {exception.run.opportunity.id}){exception.run.cause ? ` — ${exception.run.cause}` : ''}
        </dd>
        <dt id="run-status-label">Run status</dt>
        <dd>
          <output aria-labelledby="run-status-label" aria-live="polite">
            <Status value={runStatus} />
          </output>
        </dd>
      </dl>
      <div className="actions" role="group" aria-label="Exception actions">
        <button disabled={!open} onClick={() => void resolve('RETRY')}>
          Retry
        </button>
        <button
          disabled={!open || exception.type !== 'COMPENSATION_FAILED'}
          title="Only a failed undo cleaned up by hand is waived"
          onClick={() => void resolve('WAIVE')}
        >
          Waive
        </button>
      </div>
      <ErrorLine error={error} />
      <TextAction
        label="Assignee"
        button="Assign"
        initial={exception.assignee ?? ''}
        onSubmit={(assignee) =>
          act(`mutation ConsoleAssign($id: ID!, $assignee: String) { assignException(id: $id, assignee: $assignee) { id } }`, { assignee: assignee || null })
        }
      />
      <TextAction
        label="Note"
        button="Add note"
        multiline
        onSubmit={(text) => act(`mutation ConsoleNote($id: ID!, $text: String!) { noteException(id: $id, text: $text) { id } }`, { text })}
      />
      <h3>History</h3>
      <ol aria-label="Exception history" className="history">
        <li>{formatInstant(exception.raisedAt)} RAISED by the activation process</li>
        {exception.history.map((entry, index) => (
          <li key={index}>
            {formatInstant(entry.at)} {entry.action} by {entry.by}
            {entry.detail ? `: ${entry.detail}` : ''}
          </li>
        ))}
      </ol>
      <h3>Run transitions</h3>
      <ol aria-label="Run transitions" className="history">
        {exception.run.transitions.map((transition, index) => (
          <li key={index}>
            {formatInstant(transition.at)} {transition.from ?? '∅'} → {transition.to}
            {transition.reason ? ` (${transition.reason})` : ''}
          </li>
        ))}
      </ol>
      <h3>Live updates</h3>
      <ol aria-label="Live run updates" className="history">
        {updates.map((update) => (
          <li key={update.eventId}>
            {formatInstant(update.at)} {update.status}
          </li>
        ))}
      </ol>
    </section>
  );
}

function TextAction(props: { label: string; button: string; initial?: string; multiline?: boolean; onSubmit: (value: string) => Promise<void> }) {
  const [value, setValue] = useState(props.initial ?? '');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await props.onSubmit(value.trim());
    if (props.multiline) setValue('');
  };
  return (
    <form className="text-action" onSubmit={(event) => void submit(event)}>
      <label>
        {props.label}{' '}
        {props.multiline ? (
          <textarea value={value} rows={2} onChange={(event) => setValue(event.target.value)} />
        ) : (
          <input value={value} onChange={(event) => setValue(event.target.value)} />
        )}
      </label>
      <button type="submit" disabled={props.multiline && !value.trim()}>
        {props.button}
      </button>
    </form>
  );
}
