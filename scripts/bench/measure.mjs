// What the in-process benchmarks (engine.mjs, vaps.mjs) share: the build's modules, and a rate.

/**
 * A module of the build (`npm run build`), which is what the benchmarks measure; the caller types
 * it by its source, since the build writes no declarations.
 * @param {string} path under `dist/src/`
 * @returns {Promise<unknown>}
 */
export const built = (path) => import(new URL(`../../dist/src/${path}`, import.meta.url).href);

/**
 * Calls per second of `fn` over `budget` seconds, measured in batches so the clock is read rarely.
 * @param {() => number} fn
 * @param {number} budget
 */
export function rate(fn, budget) {
  let sink = 0;
  let calls = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(budget * 1e9));
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 200; i++) sink += fn();
    calls += 200;
    now = process.hrtime.bigint();
  }
  if (sink === -1) process.stdout.write("");
  return calls / (Number(now - started) / 1e9);
}

/** @param {number[]} xs not empty */
export const median = (xs) =>
  /** @type {number} */ ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
