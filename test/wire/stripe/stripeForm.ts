/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` bodies and query strings whose keys nest with
 * brackets (`metadata[key]=v`, `expand[0]=customer`, `expand[]=customer`, `amount_requested[currency]=usd`),
 * decoded into the object the client meant. Values stay strings, as they arrive; the endpoints read numbers.
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

export function decodeForm(text: string): Record<string, FormValue> {
  const root: Record<string, FormValue> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.split('[').map((segment, index) => (index === 0 ? segment : segment.replace(/\]$/, '')));
    let container: Record<string, FormValue> | FormValue[] = root;
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1;
      const nextIsList = !last && (path[index + 1] === '' || /^\d+$/.test(path[index + 1]!));
      if (Array.isArray(container)) {
        const position = segment === '' ? container.length : Number(segment);
        if (last) container[position] = value;
        else container = (container[position] ??= nextIsList ? [] : {}) as Record<string, FormValue> | FormValue[];
      } else if (last) {
        container[segment] = value;
      } else {
        container = (container[segment] ??= nextIsList ? [] : {}) as Record<string, FormValue> | FormValue[];
      }
    }
  }
  return root;
}

/** A canonical text of decoded parameters (keys sorted), to tell whether two requests asked the same thing. */
export function fingerprint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${fingerprint((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
