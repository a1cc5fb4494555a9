// The collector's store: LevelDB under <stateDir>/db holding every accepted alert in arrival
// order, an event.id index (dedup: agents resend on doubt, at least once), and the domain
// groups the whole deployment has seen (novelty "deployment"). Each accepted alert is also
// appended to the collector's own NDJSON alerts file.
// The database is written first (sync) and the file after; a marker records the last sequence
// that reached the file, and on start anything after it is appended again, so a crash between
// the two cannot lose an alert from the file.
import path from 'node:path';
import { Level } from 'level';
import { openRepairing } from '../level-open.js';
import { ReopeningLevel } from '../level-reopen.js';
import { AlertFile } from '../outputs/alert-file.js';
import { field } from './validate.js';

const ALERT = 'a!';
const ALERT_END = 'a"';
const ID = 'i!';
const GROUP = 'g!';
const NEXT = 'm!next';
const FILED = 'm!filed';

function alertKey(seq: number): string {
  return ALERT + seq.toString(16).padStart(14, '0');
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
}

export interface QueryFilter {
  since?: number;
  host?: string;
  software?: string;
  group?: string;
  novelty?: string;
  limit: number;
  cursor?: number;
}

/** Most entries one query walks, so a filter that matches nothing cannot scan forever. */
const SCAN_MAX = 20_000;

export class CollectorStore {
  stats = { accepted: 0, duplicates: 0, novelDeployment: 0 };
  private nextSeq = 1;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly store: ReopeningLevel<string>, private readonly file: AlertFile) {}

  /** `onRepaired`: the store was damaged (a crash) and LevelDB's repair got it open; says what was wrong. */
  static async open(stateDir: string, alertsFile: string, onRepaired?: (what: string) => void): Promise<CollectorStore> {
    const make = (): Level<string, string> => new Level<string, string>(path.join(stateDir, 'db'), { valueEncoding: 'utf8' });
    const { db, repaired } = await openRepairing(path.join(stateDir, 'db'), make);
    if (repaired !== undefined) onRepaired?.(repaired);
    const file = new AlertFile(alertsFile);
    file.open();
    const store = new CollectorStore(new ReopeningLevel(db, make), file);
    store.nextSeq = Number((await db.get(NEXT)) ?? 1);
    await store.refile(Number((await db.get(FILED)) ?? 0));
    return store;
  }

  private async refile(filed: number): Promise<void> {
    let last = filed;
    for await (const [key, value] of this.store.db.iterator({ gt: alertKey(filed), lt: ALERT_END })) {
      this.file.write(JSON.parse(value) as object);
      last = parseInt(key.slice(ALERT.length), 16);
    }
    if (last !== filed && this.file.unwrittenLines === 0) await this.store.write((db) => db.put(FILED, String(last)));
  }

  /** Stores new alerts (in order), skipping event.ids already stored. Serialised. */
  ingest(alerts: Record<string, unknown>[], now: number): Promise<IngestResult> {
    const run = this.chain.then(() => this.ingestNow(alerts, now));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async ingestNow(alerts: Record<string, unknown>[], now: number): Promise<IngestResult> {
    const ops: { type: 'put'; key: string; value: string }[] = [];
    const fresh: Record<string, unknown>[] = [];
    const seenIds = new Set<string>();
    const newGroups = new Set<string>();
    let duplicates = 0;
    for (const alert of alerts) {
      const id = field(alert, 'event.id') as string;
      if (seenIds.has(id) || (await this.store.db.get(ID + id)) !== undefined) {
        duplicates++;
        continue;
      }
      seenIds.add(id);
      const group = field(alert, 'egresswatch.domain_group') as string;
      if (!newGroups.has(group) && (await this.store.db.get(GROUP + group)) === undefined) {
        newGroups.add(group);
        markDeploymentNovel(alert);
        this.stats.novelDeployment++;
        ops.push({ type: 'put', key: GROUP + group, value: JSON.stringify({ first_seen: new Date(now).toISOString(), host: field(alert, 'host.name') }) });
      }
      const seq = this.nextSeq++;
      ops.push({ type: 'put', key: ID + id, value: String(seq) }, { type: 'put', key: alertKey(seq), value: JSON.stringify(alert) });
      fresh.push(alert);
    }
    if (fresh.length > 0) {
      ops.push({ type: 'put', key: NEXT, value: String(this.nextSeq) });
      await this.store.write((db) => db.batch(ops, { sync: true }));
      for (const a of fresh) this.file.write(a);
      // Filed only once the alerts file has them: lines it keeps waiting (a full disk) are
      // written again from the store at the next start if they never make it.
      if (this.file.unwrittenLines === 0) await this.store.write((db) => db.put(FILED, String(this.nextSeq - 1)));
    }
    this.stats.accepted += fresh.length;
    this.stats.duplicates += duplicates;
    return { accepted: fresh.length, duplicates };
  }

  /** Alerts in arrival order after the cursor that pass the filter; next is null at the end. */
  async query(f: QueryFilter): Promise<{ alerts: Record<string, unknown>[]; next: string | null }> {
    const alerts: Record<string, unknown>[] = [];
    let scanned = 0;
    for await (const [key, value] of this.store.db.iterator({ gt: alertKey(f.cursor ?? 0), lt: ALERT_END })) {
      const lastSeq = parseInt(key.slice(ALERT.length), 16);
      const a = JSON.parse(value) as Record<string, unknown>;
      if (matches(a, f)) alerts.push(a);
      if (alerts.length >= f.limit || ++scanned >= SCAN_MAX) {
        return { alerts, next: lastSeq < this.nextSeq - 1 ? String(lastSeq) : null };
      }
    }
    return { alerts, next: null };
  }

  async close(): Promise<void> {
    await this.chain;
    this.file.close();
    await this.store.close();
  }
}

function matches(a: Record<string, unknown>, f: QueryFilter): boolean {
  if (f.since !== undefined && Date.parse(field(a, '@timestamp') as string) < f.since) return false;
  if (f.host !== undefined && field(a, 'host.name') !== f.host) return false;
  if (f.group !== undefined && field(a, 'egresswatch.domain_group') !== f.group) return false;
  if (f.software !== undefined && ![field(a, 'egresswatch.software.id'), field(a, 'egresswatch.software.key'),
    field(a, 'process.executable')].includes(f.software)) return false;
  if (f.novelty !== undefined) {
    const nf = field(a, 'egresswatch.novel_for');
    if (!Array.isArray(nf) || !nf.includes(f.novelty)) return false;
  }
  return true;
}

/** Adds "deployment" to egresswatch.novel_for (nested or dotted form). */
function markDeploymentNovel(alert: Record<string, unknown>): void {
  if (Array.isArray(alert['egresswatch.novel_for'])) {
    (alert['egresswatch.novel_for'] as unknown[]).push('deployment');
    return;
  }
  let ew = alert.egresswatch as Record<string, unknown> | undefined;
  if (ew === null || typeof ew !== 'object') {
    ew = {};
    alert.egresswatch = ew;
  }
  const nf = Array.isArray(ew.novel_for) ? ew.novel_for as unknown[] : [];
  if (!nf.includes('deployment')) nf.push('deployment');
  ew.novel_for = nf;
}
