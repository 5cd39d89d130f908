/** A setting that stops a service at start-up, with a message naming the variable and what would be valid. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
