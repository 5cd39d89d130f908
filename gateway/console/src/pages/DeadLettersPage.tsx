/**
 * Dead letters: events the process layer could not accept (deadLetters) and events the bus gave up delivering to a
 * consumer group (eventDeadLetters, hidden while the gateway's schema lacks it) — each with its reason, payload and
 * audit trail, replayed as received or corrected, one by one or all after a preview count.
 */
import { useState } from 'react';
import { ErrorLine, Section, Status } from '../components';
import { formatInstant } from '../format';
import { graphql } from '../graphqlClient';
import { isAbsentApi, useGraphQL } from '../useGraphQL';

const PROCESS_LETTERS = `query ConsoleDeadLetters($status: [DeadLetterStatus!]) {
  deadLetters(status: $status, first: 100) { id eventId type reason payload receivedAt status replayedAt replayedBy actions { action by at } }
}`;

const BUS_LETTERS = `query ConsoleEventDeadLetters($status: [DeadLetterStatus!]) {
  eventDeadLetters(status: $status, first: 50) { id group eventId type reason deliveries deadLetteredAt event status replayedAt replayedBy actions { action by at } }
}`;

interface Letter {
  id: string;
  eventId: string | null;
  type: string | null;
  reason: string;
  /** The event as JSON: `payload` of a process dead letter, `event` of a bus one. */
  body: string;
  at: string;
  status: string;
  group?: string;
  deliveries?: number;
  replayedAt: string | null;
  replayedBy: string | null;
  actions: Array<{ action: string; by: string; at: string }>;
}

type ProcessLetter = Omit<Letter, 'body' | 'at'> & { payload: string; receivedAt: string };
type BusLetter = Omit<Letter, 'body' | 'at'> & { event: string; deadLetteredAt: string };

export function DeadLettersPage() {
  const [status, setStatus] = useState('OPEN');
  const variables = { status: status ? [status] : null };
  const process = useGraphQL<{ deadLetters: ProcessLetter[] }>(PROCESS_LETTERS, variables);
  const bus = useGraphQL<{ eventDeadLetters: BusLetter[] }>(BUS_LETTERS, variables);
  const statusFilter = (
    <label>
      Status{' '}
      <select value={status} onChange={(event) => setStatus(event.target.value)}>
        <option value="OPEN">OPEN</option>
        <option value="REPLAYED">REPLAYED</option>
        <option value="">any</option>
      </select>
    </label>
  );
  return (
    <>
      <Section title="Process dead letters" actions={statusFilter}>
        <ErrorLine error={process.error} />
        <BulkReplay
          query={`mutation ConsolePreviewReplay($preview: Boolean!) { replayDeadLetters(preview: $preview) { matched replayed } }`}
          read={(data) => (data as { replayDeadLetters: { matched: number; replayed: number } }).replayDeadLetters}
          onDone={process.reload}
        />
        <LetterTable
          label="Process dead letters"
          letters={(process.data?.deadLetters ?? []).map(({ payload, receivedAt, ...letter }) => ({ ...letter, body: payload, at: receivedAt }))}
          replay={(id, event) =>
            graphql(
              `
                mutation ConsoleReplay($id: ID!, $event: String) {
                  replayDeadLetter(id: $id, event: $event) {
                    id
                    status
                  }
                }
              `,
              { id, event },
            ).then(process.reload)
          }
        />
      </Section>
      {!isAbsentApi(bus.error) && (
        <Section title="Event bus dead letters">
          <ErrorLine error={bus.error} />
          <BulkReplay
            query={`mutation ConsolePreviewBusReplay($preview: Boolean!) { replayEventDeadLetters(preview: $preview) { matched replayed } }`}
            read={(data) => (data as { replayEventDeadLetters: { matched: number; replayed: number } }).replayEventDeadLetters}
            onDone={bus.reload}
          />
          <LetterTable
            label="Event bus dead letters"
            letters={(bus.data?.eventDeadLetters ?? []).map(({ event, deadLetteredAt, ...letter }) => ({ ...letter, body: event, at: deadLetteredAt }))}
            replay={(id, event) =>
              graphql(
                `
                  mutation ConsoleBusReplay($id: ID!, $event: String) {
                    replayEventDeadLetter(id: $id, event: $event) {
                      id
                      status
                    }
                  }
                `,
                { id, event },
              ).then(bus.reload)
            }
          />
        </Section>
      )}
    </>
  );
}

function BulkReplay(props: { query: string; read: (data: unknown) => { matched: number; replayed: number }; onDone: () => void }) {
  const [matched, setMatched] = useState<number | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const call = async (preview: boolean) => {
    setError(null);
    try {
      const result = props.read(await graphql(props.query, { preview }));
      if (preview) setMatched(result.matched);
      else {
        setMatched(null);
        setOutcome(`Replayed ${result.replayed} dead letters.`);
        props.onDone();
      }
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <div className="bulk" role="group" aria-label="Bulk replay">
      <button onClick={() => void call(true)}>Preview replay of all open</button>
      {matched !== null && (
        <>
          <span role="status">{matched} open dead letters match.</span>
          <button disabled={matched === 0} onClick={() => void call(false)}>
            Replay {matched} dead letters
          </button>
        </>
      )}
      {outcome && <span role="status">{outcome}</span>}
      <ErrorLine error={error} />
    </div>
  );
}

function LetterTable(props: { label: string; letters: Letter[]; replay: (id: string, event: string | null) => Promise<unknown> }) {
  const [error, setError] = useState<Error | null>(null);
  const [editing, setEditing] = useState<{ id: string; text: string } | null>(null);
  const replay = async (id: string, event: string | null) => {
    setError(null);
    try {
      await props.replay(id, event);
      setEditing(null);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <>
      <ErrorLine error={error} />
      <table aria-label={props.label}>
        <thead>
          <tr>
            <th scope="col">ID</th>
            {props.letters.some((letter) => letter.group) && <th scope="col">Group</th>}
            <th scope="col">Type</th>
            <th scope="col">Reason</th>
            <th scope="col">At</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.letters.length === 0 && (
            <tr>
              <td colSpan={7}>None.</td>
            </tr>
          )}
          {props.letters.map((letter) => (
            <tr key={letter.id}>
              <td>{letter.id}</td>
              {props.letters.some((other) => other.group) && <td>{letter.group}</td>}
              <td>{letter.type ?? '—'}</td>
              <td>
                {letter.reason}
                <details>
                  <summary>Event</summary>
                  {editing?.id === letter.id ? (
                    <label>
                      Corrected event <textarea rows={8} value={editing.text} onChange={(event) => setEditing({ id: letter.id, text: event.target.value })} />
                    </label>
                  ) : (
                    <pre>{pretty(letter.body)}</pre>
                  )}
                </details>
                {letter.actions.map((action, index) => (
                  <div key={index} className="muted">
                    {action.action} by {action.by} {formatInstant(action.at)}
                  </div>
                ))}
              </td>
              <td>{formatInstant(letter.at)}</td>
              <td>
                <Status value={letter.status} />
              </td>
              <td className="actions">
                <button aria-label={`Replay dead letter ${letter.id}`} onClick={() => void replay(letter.id, null)}>
                  Replay
                </button>
                {editing?.id === letter.id ? (
                  <button aria-label={`Replay corrected dead letter ${letter.id}`} onClick={() => void replay(letter.id, editing.text)}>
                    Replay corrected
                  </button>
                ) : (
                  <button aria-label={`Correct dead letter ${letter.id}`} onClick={() => setEditing({ id: letter.id, text: pretty(letter.body) })}>
                    Correct…
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
