/**
 * The DNS semantics suite (semantics-suite.ts) with UDP over the batched
 * addon, as Meridian serves when native/udp_batch.c is built (.ci/run checks
 * that it is).
 */
import { semanticsSuite } from './semantics-suite.js';

semanticsSuite('batched');
