import assert from 'node:assert/strict';
import { displayName, escapeName, toUnicodeName } from '../../lib/dns/index.js';

describe('dns/toUnicodeName', () => {
  const table: [string, string, string][] = [
    // [input, expected, why]
    ['xn--mnchen-3ya.de', 'münchen.de', 'RFC 3492 label, ASCII TLD'],
    ['XN--MNCHEN-3YA.DE', 'münchen.DE', 'mixed case prefix and body; other labels untouched'],
    ['Xn--Mnchen-3ya.de', 'münchen.de', 'mixed case'],
    ['www.xn--bcher-kva.example', 'www.bücher.example', 'label in the middle'],
    ['xn--r8jz45g.jp', '例え.jp', 'non-Latin script'],
    ['xn--ls8h.la', '💩.la', 'astral-plane code point'],
    ['xn--mnchen-3ya.xn--bcher-kva.de', 'münchen.bücher.de', 'two punycode labels'],
    ['www.example.com', 'www.example.com', 'plain ASCII'],
    ['', '', 'root'],
    ['xn--zz.example', 'xn--zz.example', 'invalid punycode stays'],
    ['xn--.example', 'xn--.example', 'empty punycode body stays'],
    ['xn--abc-.example', 'xn--abc-.example', 'decodes to plain ASCII: not a valid A-label, stays'],
    ['xn--ab-g4t.example', 'xn--ab-g4t.example', 'decodes to a RIGHT-TO-LEFT OVERRIDE: stays'],
    ['xn--example-1z6c.com', 'xn--example-1z6c.com', 'decodes with a ZERO WIDTH SPACE: stays'],
    ['xn--a-ecp.ru', 'xn--a-ecp.ru', 'rejected by UTS #46: stays'],
    ['a_b.xn--mnchen-3ya.de', 'a_b.münchen.de', 'underscore label left alone'],
    ['xn--mnchen-3ya.de.', 'münchen.de.', 'trailing dot kept'],
  ];
  for (const [input, expected, why] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)} (${why})`, () => {
      assert.equal(toUnicodeName(input), expected);
    });
  }
});

describe('dns/escapeName', () => {
  const table: [string, string, string][] = [
    ['www.example.com', 'www.example.com', 'printable ASCII unchanged'],
    ['a\x1b[31mred', 'a\\x1b[31mred', 'ESC of an ANSI colour sequence'],
    ['line\r\nbreak', 'line\\x0d\\x0abreak', 'CR LF (log injection)'],
    ['nul\x00byte', 'nul\\x00byte', 'NUL'],
    ['tab\there', 'tab\\x09here', 'TAB'],
    ['sp ace', 'sp\\x20ace', 'space, legal on the wire, ambiguous in a log'],
    ['del\x7f', 'del\\x7f', 'DEL'],
    ['c1\x9b', 'c1\\x9b', 'C1 CSI'],
    ['back\\slash', 'back\\x5cslash', 'backslash escaped so the output reads back unambiguously'],
    ['münchen.de', 'münchen.de', 'printable Unicode kept'],
    ['例え.jp', '例え.jp', 'CJK kept'],
    ['💩.la', '💩.la', 'astral pair kept'],
    ['evil\u202egnp.exe', 'evil\\u{202e}gnp.exe', 'RIGHT-TO-LEFT OVERRIDE'],
    ['ex\u200bample', 'ex\\u{200b}ample', 'ZERO WIDTH SPACE'],
    ['a\u2028b', 'a\\u{2028}b', 'LINE SEPARATOR'],
    ['\ufeffbom', '\\u{feff}bom', 'BOM'],
    ['lone\ud800', 'lone\\u{d800}', 'unpaired surrogate'],
    ['nb\u00a0sp', 'nb\\u{00a0}sp', 'NO-BREAK SPACE'],
    ['tag\u{e0041}', 'tag\\u{e0041}', 'TAG character'],
  ];
  for (const [input, expected, why] of table) {
    it(`${JSON.stringify(input)} (${why})`, () => {
      assert.equal(escapeName(input), expected);
    });
  }

  it('leaves no character below 0x21 or in 0x7f-0x9f in any output', () => {
    let all = '';
    for (let c = 0; c < 0x100; c++) all += String.fromCharCode(c);
    const out = escapeName(all);
    for (const ch of out) {
      const c = ch.charCodeAt(0);
      assert.ok(c > 0x20 && !(c >= 0x7f && c <= 0x9f), `0x${c.toString(16)} survived`);
    }
    assert.ok(JSON.stringify(out).indexOf('\\u00') < 0, 'JSON needs no escapes of its own');
  });

  it('displayName: Unicode form, then escaped', () => {
    assert.equal(displayName('xn--mnchen-3ya.de'), 'münchen.de');
    assert.equal(displayName('xn--mnchen-3ya.de\x1b'), 'münchen.de\\x1b');
    assert.equal(displayName('xn--ab-g4t.example'), 'xn--ab-g4t.example');
  });
});
