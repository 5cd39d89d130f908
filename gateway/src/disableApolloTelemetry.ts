/**
 * @apollo/gateway 2.14 sends anonymous environment metrics to Apollo every hour (and runs cloud metadata
 * detectors) unless APOLLO_TELEMETRY_DISABLED is set. A gateway over finance data must never phone home, so
 * psgraph sets it itself. Import this module before anything from @apollo/*.
 */
process.env['APOLLO_TELEMETRY_DISABLED'] = '1';

export const apolloTelemetryDisabled = true;
