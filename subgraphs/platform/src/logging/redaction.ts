/**
 * What never reaches a log line: credentials (headers, tokens, keys, passwords, secrets) and tax IDs, as
 * structured fields (pino's `redact`, by key, up to `REDACTED_DEPTH` objects deep), in messages and in errors
 * (patterns of bearer tokens, JWTs, vendor keys and `name=value` secrets). An error is logged as its type,
 * message, code and stack only: a vendor SDK's error keeps the raw request and response on its own properties.
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

/** How many objects deep a key is found: `{ a: { b: { c: { taxId } } } }` is depth 3. */
export const REDACTED_DEPTH = 4;

function pathOf(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
}

/** pino `redact` paths: every key at the top and under up to `REDACTED_DEPTH` wildcards. */
export function redactedPaths(keys: readonly string[] = REDACTED_KEYS, depth = REDACTED_DEPTH): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    const leaf = pathOf(key);
    for (let level = 0; level <= depth; level++) {
      const prefix = '*.'.repeat(level);
      paths.push(leaf.startsWith('[') ? `${prefix.slice(0, -1)}${leaf}` : `${prefix}${leaf}`);
    }
  }
  return paths;
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
