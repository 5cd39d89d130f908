/**
 * Money on the wire is an exact decimal string with its currency; in the stores it is an integer number of
 * minor units. Floats never carry money.
 */
export interface Money {
  readonly amount: string;
  readonly currency: string;
}

/** All currencies psgraph handles have two decimal places. */
const MINOR_DIGITS = 2;

export function money(minorUnits: number | bigint, currency: string): Money {
  return { amount: formatMinor(minorUnits), currency };
}

export function formatMinor(minorUnits: number | bigint): string {
  const value = BigInt(typeof minorUnits === 'number' ? Math.round(minorUnits) : minorUnits);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(MINOR_DIGITS + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -MINOR_DIGITS)}.${digits.slice(-MINOR_DIGITS)}`;
}

/** Parses a decimal string ("1234.5", "-0.07") into minor units; throws on anything else. */
export function parseMinor(amount: string): number {
  const match = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(amount);
  if (!match) throw new Error(`Not a decimal amount with at most ${MINOR_DIGITS} decimals: "${amount}"`);
  const [, sign, whole, fraction = ''] = match;
  const minor = Number(whole) * 100 + Number(fraction.padEnd(MINOR_DIGITS, '0'));
  return sign ? -minor : minor;
}
