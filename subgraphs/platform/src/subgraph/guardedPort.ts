/**
 * A port whose every call first passes a check (who may call it), named by what the call does — so that a port
 * added to, or a call added to a port, is never left unguarded: `operations` must name every call.
 */
export function guardedPort<Port extends object>(port: Port, operations: Readonly<Record<keyof Port, string>>, check: (what: string) => void): Port {
  const guarded = Object.entries(operations).map(([name, what]) => {
    const call = port[name as keyof Port] as (...args: unknown[]) => Promise<unknown>;
    return [
      name,
      async (...args: unknown[]) => {
        check(what as string);
        return call.apply(port, args);
      },
    ];
  });
  return Object.fromEntries(guarded) as Port;
}
