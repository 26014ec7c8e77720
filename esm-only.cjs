'use strict';
// What `require('ringbus')` loads: the package is ES modules only, and this says so and what to do.
const err = new Error('ringbus is ESM-only: use import() or set "type": "module" in your package.json');
err.code = 'ERR_REQUIRE_ESM';
throw err;
