/**
 * The DNS semantics suite (semantics-suite.ts) with UDP over node:dgram, the
 * fallback when the addon is not built or MERIDIAN_UDP=dgram. The variable is
 * read when the first listener binds, and vitest runs each file in its own
 * process, so setting it here affects this file only.
 */
process.env.MERIDIAN_UDP = 'dgram';

import { semanticsSuite } from './semantics-suite.js';

semanticsSuite('dgram');
