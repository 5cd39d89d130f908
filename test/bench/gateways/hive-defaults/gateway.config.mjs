// Hive Gateway with its defaults: an empty configuration, so that no configuration file elsewhere is picked up.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({});
