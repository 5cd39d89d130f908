import { ApolloClient, HttpLink, InMemoryCache, gql, split } from '@apollo/client/core';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, startStack } from '../support/stack.js';
import { eventually } from '../support/subscriptions.js';

describe('an app written with Apollo Client (GraphQLWsLink for subscriptions, HTTP for the rest)', () => {
  let stack: Stack;
  let apollo: ApolloClient<unknown>;
  let ws: ReturnType<typeof createClient>;
  beforeAll(async () => {
    stack = await startStack({ privateData: true });
    // The split link an app developer writes: subscriptions over graphql-ws, queries and mutations over HTTP.
    ws = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket });
    const link = split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(ws),
      new HttpLink({ uri: stack.gatewayUrl }),
    );
    apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  });
  afterAll(async () => {
    apollo.stop();
    await ws.dispose();
    await stack.stop();
  });

  it('receives an invoice status change with fields from billing, PSA and CRM', async () => {
    const { data } = await apollo.query<{ invoices: { nodes: Array<{ id: string; project: { id: string } }> } }>({
      query: gql`
        query OpenInvoice {
          invoices(first: 1, filter: { status: [OPEN] }) {
            nodes {
              id
              project {
                id
              }
            }
          }
        }
      `,
    });
    const invoice = data.invoices.nodes[0]!;
    const events: Array<{
      invoiceStatusChanged: { status: string; invoice: { id: string; project: { name: string; opportunity: { owner: { name: string } } } } };
    }> = [];
    const observable = apollo.subscribe({
      query: gql`
        subscription InvoiceStatus($projectId: ID!) {
          invoiceStatusChanged(projectId: $projectId) {
            status
            invoice {
              id
              project {
                name
                opportunity {
                  owner {
                    name
                  }
                }
              }
            }
          }
        }
      `,
      variables: { projectId: invoice.project.id },
    });
    const subscription = observable.subscribe({ next: (result) => events.push(result.data as never) });
    await eventually(() => stack.subgraphs.billing.service.activeSubscriptions() === 1, 10_000, 'the upstream subscription');

    await apollo.mutate({
      mutation: gql`
        mutation Pay($id: ID!) {
          recordPayment(invoiceId: $id) {
            id
            status
          }
        }
      `,
      variables: { id: invoice.id },
    });
    await eventually(() => events.length === 1, 10_000, 'the event');
    subscription.unsubscribe();

    expect(events[0]!.invoiceStatusChanged.status).toBe('PAID');
    expect(events[0]!.invoiceStatusChanged.invoice.id).toBe(invoice.id);
    expect(events[0]!.invoiceStatusChanged.invoice.project.name).toEqual(expect.any(String));
    expect(events[0]!.invoiceStatusChanged.invoice.project.opportunity.owner.name).toMatch(/^Sales Rep \d+$/);
    await eventually(() => stack.gateway.subscriptions.bridge.activeCount === 0, 5_000, 'the subscription released');
  });
});
