// The Redis Streams bridge against a real redis-server on loopback (started here, stopped by pid).
import { redisServer } from './bridge-servers.js';
import { bridgeTests } from './bridge-scenarios.js';

bridgeTests('redis', redisServer);
