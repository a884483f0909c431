/**
 * Loaded before every test file (scripts/test.mjs). Locally, fast-check draws a new seed
 * each run, so property tests keep exploring; under CI (CI=true) the seed is fixed, so a
 * run is reproducible and a counterexample found locally becomes a regression test
 * instead of a flaky CI failure. XENT_FC_SEED=<n> fixes it anywhere (fast-check prints
 * the seed of every failure).
 */
import fc from 'fast-check';

const fromEnv = process.env.XENT_FC_SEED;
const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : process.env.CI ? 20261201 : undefined;
if (seed !== undefined && Number.isInteger(seed)) fc.configureGlobal({ seed });
