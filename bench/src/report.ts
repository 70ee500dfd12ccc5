import type { Measurement } from './measure.js';
import type { Results, Row } from './results.js';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const mb = (n: number) => n.toFixed(n >= 100 ? 0 : 1);

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const rate = (m: Measurement | undefined) => (m ? int(m.eventsPerSecond) : '—');
const latency = (m: Measurement | undefined) => (m ? `${ms(m.p50Ms)} / ${ms(m.p99Ms)}` : '—');
const memory = (m: Measurement | undefined) => (m ? `${mb(m.memory.heapMb)} / ${mb(m.memory.rssMb)}` : '—');

function mainRow(r: Row): string[] {
  if (r.error) return [r.backend, r.parser, r.workload, `**failed**: ${r.error}`, '', '', '', '', '', '', ''];
  return [
    r.backend,
    r.parser,
    r.workload,
    r.size ?? '',
    rate(r.evsrc),
    rate(r.raw),
    r.ratio === undefined ? '—' : r.ratio.toFixed(2),
    latency(r.evsrc),
    latency(r.raw),
    memory(r.evsrc),
    memory(r.raw),
  ];
}

export function mainTable(results: Results): string {
  const head = [
    'backend',
    'parser',
    'workload',
    'size',
    'evsrc ev/s',
    'raw ev/s',
    'evsrc/raw',
    'evsrc p50 / p99 ms',
    'raw p50 / p99 ms',
    'evsrc Δheap / RSS MB',
    'raw Δheap / RSS MB',
  ];
  const rows = results.rows.map(mainRow);
  for (const s of results.skipped) rows.push([s.backend, '', '', `skipped: ${s.reason}`, '', '', '', '', '', '', '']);
  return table(head, rows);
}

export function roundTripTable(results: Results): string {
  const head = ['backend', 'batches N', 'reads in flight c', 'load ms', 'one read ms', 'load / one read', '⌈N / c⌉'];
  return table(
    head,
    results.roundTrips.map((r) => [
      r.backend,
      int(r.batches),
      String(r.concurrency),
      ms(r.ms),
      ms(r.rttMs),
      r.roundTrips.toFixed(1),
      int(r.ideal),
    ]),
  );
}

export function probeTable(results: Results): string {
  const head = [
    'parser',
    'events',
    'store MB (files)',
    'replay s',
    'events/s',
    'peak Δheap MB',
    'Δheap / store',
    'RSS before → max MB',
  ];
  return table(
    head,
    results.memoryProbe.map((p) => [
      p.parser,
      int(p.events),
      `${mb(p.storeMb)} (${int(p.files)})`,
      (p.ms / 1000).toFixed(2),
      int((p.events / p.ms) * 1000),
      mb(p.memory.heapMb),
      `${(p.share * 100).toFixed(1)}%`,
      `${mb(p.baseRssMb)} → ${mb(p.maxRssMb)}`,
    ]),
  );
}

export function targetsTable(results: Results): string {
  return table(
    ['target', 'status', 'figures'],
    results.targets.map((t) => [t.target, t.status, t.detail]),
  );
}

export function feedCostTable(results: Results): string {
  const head = [
    'backend',
    'parser',
    'workload',
    'size',
    'feed off ev/s',
    'feed on ev/s',
    'on/off time',
    'off p50 / p99 ms',
    'on p50 / p99 ms',
    'feed entries (per save)',
    'read back batches/s',
  ];
  return table(
    head,
    results.feedCost.map((r) =>
      r.error
        ? [r.backend, r.parser, r.workload, `**failed**: ${r.error}`, '', '', '', '', '', '', '']
        : [
            r.backend,
            r.parser,
            r.workload,
            r.size ?? '',
            rate(r.off),
            rate(r.on),
            r.ratio === undefined ? '—' : r.ratio.toFixed(2),
            latency(r.off),
            latency(r.on),
            r.entries === undefined ? '—' : `${int(r.entries)} (${(r.entriesPerSave ?? 0).toFixed(3)})`,
            r.readBack
              ? `${int(r.readBack.batchesPerSecond)} (${int(r.readBack.batches)} in ${ms(r.readBack.ms)} ms)`
              : '',
          ],
    ),
  );
}

/** The whole report, as Markdown. */
export function report(results: Results): string {
  const m = results.machine;
  const sections = [
    `# evsrc benchmarks — ${results.startedAt}${results.settings.quick ? ' (quick)' : ''}`,
    `Machine: ${m.cpus} × ${m.cpu}, ${m.memoryGb} GiB, ${m.os}, Node ${m.node}. Network backends are local servers on loopback, sharing the 2 cores with the benchmark.`,
    `Local disk: ${results.settings.durable ? 'durable (fsync) on both sides' : 'not durable (no fsync) on both sides'}. ${
      results.settings.fullNetwork || results.settings.quick
        ? 'Network backends at the same sizes as memory and local disk.'
        : 'Network backends (redis, azure, s3) at a tenth of the writes by default (W1 and W4 10,000 events, W2 1,000 aggregates, W5 100 saves per writer, round-trip sweep up to 500 batches); --full-network for the full sizes.'
    }${results.settings.codec ? ` evsrc's codec pipeline: ${results.settings.codec} (the raw baselines stay plain, so evsrc/raw includes its cost).` : ''}`,
  ];
  if (!results.settings.feed) sections.push('## Results', mainTable(results), '## Targets', targetsTable(results));
  if (results.feedCost.length > 0 || results.settings.feed) {
    sections.push("## The change feed's cost (W2, W5: evsrc with the feed off and on)", feedCostTable(results));
    const skipped = results.skipped.map((s) => `- ${s.backend} skipped: ${s.reason}`);
    if (skipped.length > 0) sections.push(skipped.join('\n'));
  }
  if (results.roundTrips.length > 0)
    sections.push('## W3 against batch count and concurrency', roundTripTable(results));
  if (results.memoryProbe.length > 0)
    sections.push('## Memory of a large replay (local disk, child process)', probeTable(results));
  sections.push(
    '## Method',
    Object.entries(results.method)
      .map(([k, v]) => `- **${k}**: ${v}`)
      .join('\n'),
    '## Backends',
    Object.entries(results.backends)
      .map(([k, v]) => `- **${k}**: ${v}`)
      .join('\n'),
  );
  if (results.errors.length > 0) sections.push('## Errors', results.errors.map((e) => `- ${e}`).join('\n'));
  sections.push(`Total time: ${results.durationS.toFixed(0)} s.`);
  return `${sections.join('\n\n')}\n`;
}
