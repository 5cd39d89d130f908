/**
 * What never reaches a log line: credentials (headers, tokens, keys, passwords, secrets) and tax IDs — by key,
 * wherever they sit in what is logged (objects and arrays, up to `REDACTED_DEPTH` deep; deeper is withheld
 * whole), and by pattern in messages and string values (bearer tokens, JWTs, vendor keys, `name=value`
 * secrets). An error, wherever it is, is logged as its type, message, code, stack and cause only: a vendor SDK's
 * error keeps the raw request and response (headers included) on its own properties.
 *
 * Not pino's `redact`: its paths name one depth each, and covering these keys four levels deep with wildcards
 * (155 paths) cost about 300 µs per line on this project's machine, against about 10 µs for this walk, which
 * copies only the objects in which it withholds something.
 */

export const CENSOR = '[redacted]';

/** Keys whose value is withheld wherever they appear (case as written in the code that logs them). */
export const REDACTED_KEYS: readonly string[] = [
  // HTTP headers, as Node and the Fetch API name them.
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
  'psgraph-principal',
  'x-api-key',
  'proxy-authorization',
  // Credentials, as the vendor configurations and OAuth name them.
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'tokenId',
  'tokenSecret',
  'secret',
  'clientSecret',
  'client_secret',
  'consumerSecret',
  'webhookSecret',
  'signingKey',
  'privateKey',
  'apiKey',
  'api_key',
  'password',
  'passphrase',
  'assertion',
  // Tax IDs: the CRM's and ERP's field (`taxId`), the SQLite column, Salesforce's custom field.
  'taxId',
  'tax_id',
  'Tax_Id__c',
];

/** How many objects deep keys are looked for: `{ a: { b: { c: { taxId } } } }` is depth 3. */
export const REDACTED_DEPTH = 8;

const REDACTED = new Set(REDACTED_KEYS);

/**
 * `value` with every redacted key's value, every credential-shaped part of a string and every error replaced;
 * the same object when there was nothing to replace. Objects with their own JSON form (`toJSON`: dates, the
 * vendor configurations' `Secret`) and binary data are left as they are.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value) as T;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || ArrayBuffer.isView(value)) return value;
  if (depth >= REDACTED_DEPTH) return CENSOR as T;
  const isArray = Array.isArray(value);
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [key, item] of Object.entries(value)) {
    const redacted = !isArray && REDACTED.has(key) ? CENSOR : redactSecrets(item, depth + 1);
    if (redacted === item) continue;
    copy ??= isArray ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) };
    (copy as Record<string, unknown>)[key] = redacted;
  }
  return (copy ?? value) as T;
}

const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // An Authorization header's credentials, however they got into a message.
  [/\b(Bearer|Basic|Token|OAuth)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${CENSOR}`],
  // A JWT anywhere (principal tokens, Salesforce's JWT bearer assertion).
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, CENSOR],
  // Stripe's keys and webhook secrets (its errors quote part of a refused key).
  [/\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9*]+/g, CENSOR],
  [/\bwhsec_[A-Za-z0-9]+/g, CENSOR],
  // name=value and name: value pairs in URLs, form bodies and messages.
  [
    /\b((?:access_token|refresh_token|id_token|client_secret|consumer_secret|token_secret|api_key|apikey|password|passphrase|secret|token|assertion|tax_?id)\s*["']?\s*[=:]\s*["']?)[^\s&"',;)}]+/gi,
    `$1${CENSOR}`,
  ],
];

/** `text` with every credential-shaped part replaced by `[redacted]`. */
export function scrubSecrets(text: string): string {
  // Every pattern needs more than a few characters: short strings (most field values) are left at once.
  if (text.length < 12) return text;
  let scrubbed = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly system?: string;
  readonly stack?: string;
  readonly cause?: SerializedError;
}

/**
 * An error as a log line holds it: type, scrubbed message and stack, psgraph's code (`extensions.code`, or a
 * Node `code`), the vendor system, and its cause the same way (three deep). Nothing else of the error is written.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { type: typeof error, message: scrubSecrets(String(error)) };
  const extensions = (error as { extensions?: { code?: unknown } }).extensions;
  const code = typeof extensions?.code === 'string' ? extensions.code : (error as { code?: unknown }).code;
  const system = (error as { system?: unknown }).system;
  // A GraphQLError (a VendorError) keeps what caused it as `originalError`.
  const cause = error.cause ?? (error as { originalError?: unknown }).originalError;
  return {
    type: error.name,
    message: scrubSecrets(error.message),
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof system === 'string' ? { system } : {}),
    ...(error.stack ? { stack: scrubSecrets(error.stack) } : {}),
    ...(cause !== undefined && cause !== null && depth < 3 ? { cause: serializeError(cause, depth + 1) } : {}),
  };
}
