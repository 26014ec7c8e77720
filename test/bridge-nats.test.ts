// The NATS JetStream bridge against a real nats-server on loopback (started here, stopped by pid).
import { natsServer } from './bridge-servers.js';
import { bridgeTests } from './bridge-scenarios.js';

bridgeTests('nats', natsServer);
