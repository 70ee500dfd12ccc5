/**
 * Issue 7's targets, checked against the figures (memory and local disk, MessagePack).
 * This only reports: no figure ever changes the exit code.
 *
 * @module
 */
import type { Measurement } from './measure.js';
import type { Results, Row } from './results.js';

type Check = Results['targets'][number];

const TARGET_BACKENDS = ['memory', 'local'];
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function rowsOf(results: Results, workload: string): Row[] {
  return results.rows.filter(
    (r) => r.workload === workload && r.parser === 'msgpack' && TARGET_BACKENDS.includes(r.backend) && !r.error,
  );
}

function check(target: string, rows: Row[], ok: (r: Row) => boolean, figure: (r: Row) => string): Check {
  if (rows.length === 0) return { target, status: 'not run', detail: '' };
  const status = rows.every(ok) ? 'met' : 'missed';
  return { target, status, detail: rows.map((r) => `${r.backend}: ${figure(r)}`).join('; ') };
}

const evsrc = (r: Row) => r.evsrc as Measurement;

function probeCheck(results: Results): Check {
  const target = 'a 1,000,000-event replay holds far less than the store in memory (peak Δheap < 25% of the store)';
  const probes = results.memoryProbe;
  if (probes.length === 0) return { target, status: 'not run', detail: '' };
  return {
    target,
    status: probes.every((p) => p.share < 0.25) ? 'met' : 'missed',
    detail: probes
      .map(
        (p) =>
          `${p.parser}: ${int(p.events)} events, store ${p.storeMb.toFixed(0)} MB, peak Δheap ${p.memory.heapMb.toFixed(1)} MB (${(p.share * 100).toFixed(1)}%), max RSS ${p.maxRssMb.toFixed(0)} MB`,
      )
      .join('; '),
  };
}

/**
 * Load time ≈ ⌈N / c⌉ round trips + the CPU of decoding and applying. Judged on the
 * simulated store (a fixed delay per request, no server on the same cores): for the largest
 * N, c reads in flight must be at least c / 2 times faster than one at a time.
 */
function roundTripCheck(results: Results): Check {
  const target =
    'a load of N batches costs about ⌈N / c⌉ round trips (simulated store, largest N: c=16 at least 8× faster than c=1)';
  const all = results.roundTrips;
  const largest = Math.max(0, ...all.map((r) => r.batches));
  const widest = Math.max(0, ...all.map((r) => r.concurrency));
  const rows = all.filter((r) => r.batches === largest && r.concurrency === widest);
  const speedUp = (r: (typeof all)[number]) => {
    const serial = all.find((s) => s.backend === r.backend && s.batches === largest && s.concurrency === 1);
    return serial ? serial.ms / r.ms : Number.NaN;
  };
  const simulated = rows.filter((r) => r.backend.startsWith('simulated'));
  if (simulated.length === 0) return { target, status: 'not run', detail: '' };
  const detail = rows.map(
    (r) =>
      `${r.backend}: N=${largest}, c=${widest}: ${r.ms.toFixed(0)} ms = ${r.roundTrips.toFixed(1)} × one read (⌈N/c⌉ = ${r.ideal}), ${speedUp(r).toFixed(1)}× faster than c=1`,
  );
  const met = simulated.every((r) => speedUp(r) >= widest / 2);
  return { target, status: met ? 'met' : 'missed', detail: detail.join('; ') };
}

export function checkTargets(results: Results): Check[] {
  return [
    check(
      'W3 replay ≥ 1,000,000 events/s',
      rowsOf(results, 'W3'),
      (r) => evsrc(r).eventsPerSecond >= 1_000_000,
      (r) => `${int(evsrc(r).eventsPerSecond)} ev/s`,
    ),
    check(
      'W4 load with snapshot < 5 ms (p50)',
      rowsOf(results, 'W4'),
      (r) => evsrc(r).p50Ms < 5,
      (r) => `p50 ${evsrc(r).p50Ms.toFixed(2)} ms, p99 ${evsrc(r).p99Ms.toFixed(2)} ms`,
    ),
    check(
      'W1 within 1.2× of raw',
      rowsOf(results, 'W1'),
      (r) => (r.ratio ?? Number.POSITIVE_INFINITY) <= 1.2,
      (r) => `${r.ratio?.toFixed(2)}×`,
    ),
    check(
      'W3 within 1.2× of raw (decoded)',
      rowsOf(results, 'W3'),
      (r) => (r.ratio ?? Number.POSITIVE_INFINITY) <= 1.2,
      (r) => `${r.ratio?.toFixed(2)}×`,
    ),
    probeCheck(results),
    roundTripCheck(results),
  ];
}
