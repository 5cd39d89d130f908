/**
 * A JSON log line as a person reads it at a terminal (`npm start` on a TTY): time, service, level, message,
 * then the other fields as `key=value`. What is not a JSON log line (a crash's stack trace) comes back as it was.
 */
const SHOWN_APART = new Set(['level', 'time', 'service', 'pid', 'msg']);

export function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry['level'] !== 'string' || typeof entry['service'] !== 'string') return line;
  const time = typeof entry['time'] === 'string' ? entry['time'].slice(11, 23) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, `[${entry['service']}]`, entry['level'].toUpperCase(), String(entry['msg'] ?? ''), ...fields].filter(Boolean).join(' ');
}
