/**
 * Overview: each service's health (the gateway's /ready), each flow's backlog and sync lag, the event bus's
 * consumer groups, the health figures, and their trend per hour or day as charts.
 */
import { useEffect, useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ErrorLine, Section, Status } from '../components';
import { formatInstant, formatRate, formatSeconds } from '../format';
import { isAbsentApi, useGraphQL } from '../useGraphQL';

interface Readiness {
  status: string;
  supergraph?: { loadedAt: string; reloads: number; lastError: string | null };
  subgraphs?: Record<string, string>;
}

const FIGURES = `query ConsoleFigures {
  activationFigures { activatedCount touchlessRate cycleTime { p50Seconds p90Seconds } }
  postingFigures { approvedLines postedLines heldBackLines pendingLines exceptionRate approvedToErp { p50Seconds p90Seconds } }
  projectToCashFigures { syncLag { flow pending oldestSince ageSeconds } }
  exceptionCounts { type region system count }
}`;

const CONSUMER_GROUPS = `query ConsoleConsumerGroups { eventConsumerGroups { name pending undelivered lagSeconds deadLetters } }`;

const TREND = `query ConsoleTrend($bucket: TrendBucket!, $from: DateTime!, $to: DateTime!) {
  activationTrend(bucket: $bucket, from: $from, to: $to) { start runsStarted runsActivated runsFailed exceptionsRaised medianCycleTimeSeconds }
}`;

interface Figures {
  activationFigures: { activatedCount: number; touchlessRate: number | null; cycleTime: { p50Seconds: number; p90Seconds: number } | null };
  postingFigures: {
    approvedLines: number;
    postedLines: number;
    heldBackLines: number;
    pendingLines: number;
    exceptionRate: number | null;
    approvedToErp: { p50Seconds: number; p90Seconds: number } | null;
  };
  projectToCashFigures: { syncLag: Array<{ flow: string; pending: number; oldestSince: string | null; ageSeconds: number | null }> };
  exceptionCounts: Array<{ type: string; region: string | null; system: string; count: number }>;
}

interface TrendPoint {
  start: string;
  runsStarted: number;
  runsActivated: number;
  runsFailed: number;
  exceptionsRaised: number;
  medianCycleTimeSeconds: number | null;
}

export function OverviewPage() {
  return (
    <div className="grid">
      <ServiceHealth />
      <FlowHealth />
      <ActivationTrend />
    </div>
  );
}

function ServiceHealth() {
  const [readiness, setReadiness] = useState<Readiness | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    let live = true;
    const check = () =>
      fetch(new URL('/ready', location.href))
        .then((response) => response.json() as Promise<Readiness>)
        .then((body) => live && (setReadiness(body), setError(null)))
        .catch((failure: Error) => live && setError(failure));
    void check();
    const timer = setInterval(check, 10_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <Section title="Services">
      <ErrorLine error={error} />
      {readiness && (
        <table aria-label="Service health">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>gateway (supergraph loaded {formatInstant(readiness.supergraph?.loadedAt)})</td>
              <td>
                <Status value={readiness.status} />
              </td>
            </tr>
            {Object.entries(readiness.subgraphs ?? {}).map(([name, state]) => (
              <tr key={name}>
                <td>{name}</td>
                <td>
                  <Status value={state} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function FlowHealth() {
  const figures = useGraphQL<Figures>(FIGURES, {}, 30_000);
  const groups = useGraphQL<{
    eventConsumerGroups: Array<{ name: string; pending: number; undelivered: number; lagSeconds: number | null; deadLetters: number }>;
  }>(CONSUMER_GROUPS);
  const data = figures.data;
  return (
    <>
      <Section title="Health figures" actions={<button onClick={figures.reload}>Refresh</button>}>
        <ErrorLine error={figures.error} />
        {data && (
          <dl className="figures">
            <dt>Activated runs</dt>
            <dd>{data.activationFigures.activatedCount}</dd>
            <dt>Touchless rate</dt>
            <dd>{formatRate(data.activationFigures.touchlessRate)}</dd>
            <dt>Cycle time p50 / p90</dt>
            <dd>
              {formatSeconds(data.activationFigures.cycleTime?.p50Seconds)} / {formatSeconds(data.activationFigures.cycleTime?.p90Seconds)}
            </dd>
            <dt>Lines approved / posted</dt>
            <dd>
              {data.postingFigures.approvedLines} / {data.postingFigures.postedLines}
            </dd>
            <dt>Lines held back / pending</dt>
            <dd>
              {data.postingFigures.heldBackLines} / {data.postingFigures.pendingLines}
            </dd>
            <dt>Billing exception rate</dt>
            <dd>{formatRate(data.postingFigures.exceptionRate)}</dd>
            <dt>Approval → ERP p50 / p90</dt>
            <dd>
              {formatSeconds(data.postingFigures.approvedToErp?.p50Seconds)} / {formatSeconds(data.postingFigures.approvedToErp?.p90Seconds)}
            </dd>
            <dt>Open integration exceptions</dt>
            <dd>{data.exceptionCounts.reduce((sum, count) => sum + count.count, 0)}</dd>
          </dl>
        )}
        {data && data.exceptionCounts.length > 0 && (
          <table aria-label="Open exceptions by type">
            <thead>
              <tr>
                <th scope="col">Open exception</th>
                <th scope="col">Region</th>
                <th scope="col">System</th>
                <th scope="col">Count</th>
              </tr>
            </thead>
            <tbody>
              {data.exceptionCounts.map((count) => (
                <tr key={`${count.type}|${count.region}|${count.system}`}>
                  <td>{count.type}</td>
                  <td>{count.region ?? '—'}</td>
                  <td>{count.system}</td>
                  <td>{count.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Flows and sync lag">
        {data && (
          <table aria-label="Flow sync lag">
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">Pending</th>
                <th scope="col">Oldest since</th>
                <th scope="col">Lag</th>
              </tr>
            </thead>
            <tbody>
              {data.projectToCashFigures.syncLag.map((lag) => (
                <tr key={lag.flow}>
                  <td>{lag.flow}</td>
                  <td>{lag.pending}</td>
                  <td>{formatInstant(lag.oldestSince)}</td>
                  <td>{formatSeconds(lag.ageSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {!isAbsentApi(groups.error) && (
          <>
            <ErrorLine error={groups.error} />
            {groups.data && (
              <table aria-label="Event consumer groups">
                <thead>
                  <tr>
                    <th scope="col">Consumer group</th>
                    <th scope="col">Pending</th>
                    <th scope="col">Undelivered</th>
                    <th scope="col">Lag</th>
                    <th scope="col">Dead letters</th>
                  </tr>
                </thead>
                <tbody>
                  {groups.data.eventConsumerGroups.map((group) => (
                    <tr key={group.name}>
                      <td>{group.name}</td>
                      <td>{group.pending}</td>
                      <td>{group.undelivered}</td>
                      <td>{formatSeconds(group.lagSeconds)}</td>
                      <td>{group.deadLetters}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Section>
    </>
  );
}

const WINDOWS = { HOUR: 24 * 3_600_000, DAY: 14 * 86_400_000 } as const;

function ActivationTrend() {
  const [bucket, setBucket] = useState<keyof typeof WINDOWS>('HOUR');
  const variables = useMemo(() => {
    const to = new Date();
    return { bucket, from: new Date(to.getTime() - WINDOWS[bucket]).toISOString(), to: to.toISOString() };
  }, [bucket]);
  const trend = useGraphQL<{ activationTrend: TrendPoint[] }>(TREND, variables);
  if (isAbsentApi(trend.error)) return null;
  const points = (trend.data?.activationTrend ?? []).map((point) => ({
    ...point,
    label: bucket === 'HOUR' ? point.start.slice(11, 16) : point.start.slice(5, 10),
    medianCycleTimeMinutes: point.medianCycleTimeSeconds == null ? null : point.medianCycleTimeSeconds / 60,
  }));
  return (
    <Section
      title="Activation trend"
      actions={
        <label>
          Per{' '}
          <select value={bucket} onChange={(event) => setBucket(event.target.value as keyof typeof WINDOWS)}>
            <option value="HOUR">hour (last 24 h)</option>
            <option value="DAY">day (last 14 days)</option>
          </select>
        </label>
      }
    >
      <ErrorLine error={trend.error} />
      <figure className="chart" aria-label="Runs and exceptions per bucket">
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={points}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            <Bar dataKey="runsStarted" name="started" fill="#4a6fa5" isAnimationActive={false} />
            <Bar dataKey="runsActivated" name="activated" fill="#3c8d5a" isAnimationActive={false} />
            <Bar dataKey="runsFailed" name="failed" fill="#b5473a" isAnimationActive={false} />
            <Bar dataKey="exceptionsRaised" name="exceptions" fill="#c8912e" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
        <figcaption>Runs started, activated and failed, and exceptions raised</figcaption>
      </figure>
      <figure className="chart" aria-label="Median cycle time per bucket">
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={points}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="label" />
            <YAxis unit=" min" />
            <Tooltip />
            <Line dataKey="medianCycleTimeMinutes" name="median cycle time (min)" stroke="#4a6fa5" connectNulls isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
        <figcaption>Median closed-won → activated time</figcaption>
      </figure>
    </Section>
  );
}
