import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as globalRegistry, type Registry } from 'prom-client';
import { describe } from '../describe.js';
import { InvalidOptionError } from '../errors.js';
import { knownOptions } from '../validate.js';

export interface ServeMetricsOptions {
  /** TCP port; 0 picks a free one (read it back from `port`). */
  port: number;
  /** Address to listen on. Default '127.0.0.1': metrics stay on the machine unless you say otherwise. */
  host?: string;
  /** Default '/metrics'. */
  path?: string;
  /** Default: prom-client's global registry. */
  registry?: Registry;
}

export interface MetricsServer {
  /** Where to scrape, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

const OPTIONS: readonly (keyof ServeMetricsOptions)[] = ['port', 'host', 'path', 'registry'];

/** Serves a registry in Prometheus's text format on GET `path`; resolves once listening. */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  knownOptions('serveMetrics() options', options, OPTIONS);
  const { port, host = '127.0.0.1', path = '/metrics', registry = globalRegistry } = options ?? ({} as ServeMetricsOptions);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidOptionError(`serveMetrics() needs a port, an integer from 0 (any free port) to 65535, got ${String(port)}`);
  if (typeof host !== 'string' || host === '') throw new InvalidOptionError(`serveMetrics() host must be an address to listen on, got ${describe(host)}`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new InvalidOptionError(`serveMetrics() path must start with "/", got ${String(path)}`);
  const r = registry as Partial<Registry> | null;
  if (typeof r !== 'object' || r === null || typeof r.metrics !== 'function' || typeof r.contentType !== 'string')
    throw new InvalidOptionError(`serveMetrics() registry must be a prom-client Registry (new Registry() from 'prom-client'), got ${describe(registry)}`);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== path) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: metrics are at ${path}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting the metrics failed: ${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? inUse(port, host, error) : error);
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}${path}`,
    port: bound,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections(); // a scraper's keep-alive connection would hold close() for seconds
      }),
  };
}

/** A port taken is a mistake in the options: a typed error that says so, the listen error as its `cause`. */
function inUse(port: number, host: string, cause: Error): InvalidOptionError {
  const error = new InvalidOptionError(
    `serveMetrics(): port ${port} on ${host} is already in use (another metrics server, or another program): choose another port, or port 0 for any free one`,
  );
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  return error;
}
