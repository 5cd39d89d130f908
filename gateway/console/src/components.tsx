/** Small building blocks of the console's pages: a titled section, an error line, a status badge. */
import type { ReactNode } from 'react';
import { RequestError } from './graphqlClient';
import { isAbsentApi } from './useGraphQL';

export function Section(props: { title: string; children: ReactNode; actions?: ReactNode }) {
  const id = `section-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section aria-labelledby={id} className="section">
      <header className="section-header">
        <h2 id={id}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/** An error worth showing (an absent API is not: the part is hidden instead). */
export function ErrorLine(props: { error: unknown }) {
  if (!props.error || isAbsentApi(props.error)) return null;
  return (
    <p role="alert" className="error">
      {(props.error as Error).message}
      {props.error instanceof RequestError && props.error.unauthenticated ? ' Sign in with a bearer token (top right).' : ''}
    </p>
  );
}

const TONE: Record<string, string> = {
  ACTIVE: 'good',
  RESOLVED: 'good',
  REPLAYED: 'good',
  up: 'good',
  ready: 'good',
  OPEN: 'bad',
  EXCEPTION_OPEN: 'bad',
  NEEDS_ATTENTION: 'bad',
  VALIDATION_FAILED: 'bad',
  down: 'bad',
  degraded: 'bad',
};

export function Status(props: { value: string | null | undefined }) {
  const value = props.value ?? '—';
  return <span className={`status status-${TONE[value] ?? 'neutral'}`}>{value}</span>;
}
