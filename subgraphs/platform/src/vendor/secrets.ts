/**
 * Credentials for the vendor systems, read from the environment or from files (`<NAME>_FILE`, as Docker and
 * Kubernetes secrets are mounted), and held so that they never reach a log or an error message: a `Secret`
 * prints as `[redacted]` however it is turned into text, and only `reveal()` gives its value, at the one place it
 * is sent to the vendor.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { ConfigError } from '../configError.js';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value, for the request that needs it; never for a message. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/**
 * The secret in `name`, or in the file `name_FILE` points at (trailing newline trimmed); undefined when neither is
 * set. Both set is a configuration error: one of them would be silently ignored.
 */
export function readSecret(env: NodeJS.ProcessEnv, name: string): Secret | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new ConfigError(`${name} and ${name}_FILE are both set: keep one.`);
  if (file) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${name}_FILE=${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    const value = content.replace(/\r?\n$/, '');
    if (!value) throw new ConfigError(`${name}_FILE=${file} is empty.`);
    return new Secret(value);
  }
  return direct ? new Secret(direct) : undefined;
}

/** `readSecret`, for a secret the configuration cannot do without. */
export function requireSecret(env: NodeJS.ProcessEnv, name: string, purpose: string): Secret {
  const secret = readSecret(env, name);
  if (!secret) throw new ConfigError(`${name} (or ${name}_FILE) is not set: it is ${purpose}.`);
  return secret;
}
