import assert from 'node:assert/strict';
import {
  asciiJson, escapeSdParam, formatRfc5424, frameOctetCounted, isPrintUsAscii, priority, SyslogFormatError, timestampField,
} from '../../lib/outputs/syslog-format.js';
import { makeAlert, parse5424, parseFrames, sdParams } from '../fixtures/syslog/harness.js';

describe('outputs/syslog-format', () => {
  it('writes <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG with authpriv.warning by default', () => {
    const alert = makeAlert(7);
    const line = formatRfc5424(alert, { hostName: 'web-1.example.net', procId: '4242' });
    const p = parse5424(line);
    assert.equal(p.pri, 10 * 8 + 4);
    assert.equal(p.timestamp, alert['@timestamp']);
    assert.equal(p.host, 'web-1.example.net');
    assert.equal(p.app, 'egresswatch');
    assert.equal(p.procId, '4242');
    assert.equal(p.msgId, 'NEWEXT');
    assert.deepEqual(sdParams(p.sd, 'egresswatch@32473'), { id: 'evt-00007', group: 'example.com', novel: 'host,software' });
    assert.deepEqual(JSON.parse(p.msg), alert);
  });

  it('makes the message from the JSON text the spool kept, when given, as from the alert itself (non-ASCII escaped, or after a BOM)', () => {
    const alert = { ...makeAlert(3), destination: { domain: 'bücher.example' } };
    const json = JSON.stringify(alert);
    for (const bom of [false, true]) {
      assert.equal(formatRfc5424(alert, { hostName: 'h', bom }, json), formatRfc5424(alert, { hostName: 'h', bom }), `bom ${bom}`);
    }
    let serialised = 0;
    const counted = { ...alert, toJSON(): object { serialised++; return alert; } };
    const line = formatRfc5424(counted, { hostName: 'h' }, json);
    assert.equal(serialised, 0, 'the alert is not serialised again');
    assert.match(line, /b\\u00fccher\.example/);
  });

  it('takes facility and severity (log audit = 13, notice = 5) and NILVALUE for an absent PROCID', () => {
    const p = parse5424(formatRfc5424(makeAlert(2), { hostName: 'h', facility: 13, severity: 5 }));
    assert.equal(p.pri, 13 * 8 + 5);
    assert.equal(p.procId, '-');
    assert.equal(priority(23, 7), 191);
    assert.throws(() => priority(24, 0), SyslogFormatError);
    assert.throws(() => priority(1, 8), SyslogFormatError);
  });

  it('escapes ", \\ and ] in SD-PARAM values and drops control characters', () => {
    assert.equal(escapeSdParam('a"b\\c]d'), 'a\\"b\\\\c\\]d');
    assert.equal(escapeSdParam('x\ny\u0000z'), 'xyz');
    const alert = makeAlert(1, { egresswatch: { domain_group: 'we"ird]\\grp', novel_for: ['software'] } });
    const p = parse5424(formatRfc5424(alert, { hostName: 'h' }));
    assert.deepEqual(sdParams(p.sd, 'egresswatch@32473'), { id: 'evt-00001', group: 'we"ird]\\grp', novel: 'software' });
  });

  it('writes NILVALUE structured data when the alert has none of its fields', () => {
    const p = parse5424(formatRfc5424({ '@timestamp': '2026-12-04T12:00:00Z' }, { hostName: 'h' }));
    assert.equal(p.sd, '-');
    assert.deepEqual(JSON.parse(p.msg), { '@timestamp': '2026-12-04T12:00:00Z' });
  });

  it('keeps only RFC 5424 timestamps (≤ 6 fraction digits, offset) and writes NILVALUE otherwise', () => {
    assert.equal(timestampField('2026-12-04T12:00:00.123456+02:00'), '2026-12-04T12:00:00.123456+02:00');
    assert.equal(timestampField('2026-12-04T12:00:00.1234567Z'), '-');
    assert.equal(timestampField('2026-12-04 12:00:00Z'), '-');
    assert.equal(timestampField('2026-13-45T12:00:00Z'), '-');
    assert.equal(timestampField(1733313600000), '-');
    assert.equal(parse5424(formatRfc5424({ '@timestamp': 'yesterday' }, { hostName: 'h' })).timestamp, '-');
  });

  it('refuses header fields that are not 1..N printable ASCII (RFC 5424 §6)', () => {
    assert.equal(isPrintUsAscii('a!~'), true);
    assert.equal(isPrintUsAscii('a b'), false);
    assert.equal(isPrintUsAscii('hôte'), false);
    assert.throws(() => formatRfc5424({}, { hostName: 'has space' }), /HOSTNAME/);
    assert.throws(() => formatRfc5424({}, { hostName: '' }), /HOSTNAME/);
    assert.throws(() => formatRfc5424({}, { hostName: 'x'.repeat(256) }), /HOSTNAME/);
    assert.throws(() => formatRfc5424({}, { hostName: 'h', appName: 'a'.repeat(49) }), /APP-NAME/);
    assert.throws(() => formatRfc5424({}, { hostName: 'h', msgId: 'm'.repeat(33) }), /MSGID/);
    assert.throws(() => formatRfc5424({}, { hostName: 'h', sdId: 'bad=id' }), /SD-ID/);
  });

  it('writes MSG as ASCII-only JSON that parses back to the same alert; bom: true sends UTF-8 with a BOM', () => {
    const alert = makeAlert(3, { process: { command_line: 'curl https://bücher.example/ \u{1F600} \u007f "q"' } });
    const ascii = formatRfc5424(alert, { hostName: 'h' });
    assert.ok(/^[\x20-\x7e]*$/.test(ascii), 'message is printable ASCII');
    assert.deepEqual(JSON.parse(parse5424(ascii).msg), alert);
    assert.equal(asciiJson('é'), '"\\u00e9"');
    const bom = parse5424(formatRfc5424(alert, { hostName: 'h', bom: true })).msg;
    assert.equal(bom.charCodeAt(0), 0xfeff);
    assert.deepEqual(JSON.parse(bom.slice(1)), alert);
  });

  it('frames with the length in octets, not characters (RFC 6587 §3.4.1)', () => {
    const msg = formatRfc5424(makeAlert(4, { note: 'ünïcödé' }), { hostName: 'h', bom: true });
    const frame = frameOctetCounted(msg);
    const len = Number(frame.toString('ascii', 0, frame.indexOf(0x20)));
    assert.equal(len, Buffer.byteLength(msg, 'utf8'));
    assert.notEqual(len, msg.length);
    const two = Buffer.concat([frame, frameOctetCounted('<84>1 - h - - - - x'), frame.subarray(0, 10)]);
    const { messages, rest } = parseFrames(two);
    assert.deepEqual(messages, [msg, '<84>1 - h - - - - x']);
    assert.equal(rest.length, 10);
  });
});
