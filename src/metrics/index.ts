// ringbus/metrics: Prometheus metrics through prom-client, an optional peer dependency
// (npm install prom-client). Kept apart from 'ringbus' so that the bus never loads it.
export { RingbusMetrics, type RingbusMetricsOptions } from './collector.js';
export { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './serve.js';
