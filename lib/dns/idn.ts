// Names as people read them, and names safe to print.
//
// Keys (cache, baseline, allow lists) stay in the wire's ASCII form, punycode included: one
// spelling per name, and the form an analyst can paste into dig. Only what is shown is
// converted: toUnicodeName() for the readable form (RFC 3492 / UTS #46 through node:url, the
// WHATWG URL host code, so no deprecated `punycode` module), escapeName() for anything that
// reaches a log line or a terminal. JSON escaping alone does not make a name safe to show:
// it leaves ESC (ANSI sequences in `tail -f` / `less -R`), DEL, C1 controls, and Unicode
// bidi overrides or zero-width characters that make a log viewer show another name.
import { domainToASCII, domainToUnicode } from 'node:url';

const ACE_PREFIX = 'xn--';

/**
 * `name` with each punycode label ("xn--...", any case) shown in Unicode. A label is
 * converted only when it decodes under UTS #46 and encodes back to the same ASCII label, so
 * invalid punycode, labels that decode to plain ASCII ("xn--abc-") and labels that decode to
 * characters IDNA disallows (bidi overrides, controls) stay exactly as they were. Other
 * labels are left untouched (not lower-cased, not mapped).
 */
export function toUnicodeName(name: string): string {
  if (!name.toLowerCase().includes(ACE_PREFIX)) return name;
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label.length <= ACE_PREFIX.length || label.slice(0, 4).toLowerCase() !== ACE_PREFIX) continue;
    const unicode = domainToUnicode(label);
    // '' = rejected; a '.' would mean the label became two (UTS #46 maps U+3002 and friends).
    if (unicode === '' || unicode.includes('.')) continue;
    if (domainToASCII(unicode) !== label.toLowerCase()) continue;
    labels[i] = unicode;
  }
  return labels.join('.');
}

/**
 * `name` with every character that is not safe to print escaped: C0 controls, space, DEL
 * and C1 controls (U+0080-U+009F) as `\xNN`; the backslash itself as `\x5c` (so an escaped
 * name reads back unambiguously); invisible or direction-changing Unicode (zero-width,
 * bidi marks / embeddings / overrides / isolates, line and paragraph separators, BOM,
 * unpaired surrogates, private use, noncharacters) as `\u{XXXX}`. Printable Unicode
 * letters stay, so escapeName(toUnicodeName(n)) is the display form.
 */
export function escapeName(name: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x20 && c < 0x7f && c !== 0x5c) continue; // the common case: printable ASCII
    let width = 1;
    let code = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < name.length) {
      const low = name.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        width = 2;
      }
    }
    const escaped = escapeCode(code);
    if (escaped !== undefined) {
      out += name.slice(from, i) + escaped;
      from = i + width;
    }
    i += width - 1;
  }
  return from === 0 ? name : out + name.slice(from);
}

/** Display form: Unicode labels where valid, then escaped. */
export function displayName(name: string): string {
  return escapeName(toUnicodeName(name));
}

const hex2 = (c: number): string => `\\x${c.toString(16).padStart(2, '0')}`;

function escapeCode(c: number): string | undefined {
  if (c <= 0x20 || c === 0x5c || (c >= 0x7f && c <= 0x9f)) return hex2(c);
  if (c < 0xa0) return undefined;
  if (c === 0xa0 || c === 0xad || isInvisible(c)) return `\\u{${c.toString(16).padStart(4, '0')}}`;
  return undefined;
}

/** Format, separator, surrogate, private-use and noncharacter code points above U+00A0. */
function isInvisible(c: number): boolean {
  return (
    c === 0x034f || c === 0x061c || c === 0x115f || c === 0x1160 || c === 0x180e ||
    (c >= 0x2000 && c <= 0x200f) || // spaces of various widths, ZWSP, ZWNJ, ZWJ, LRM, RLM
    (c >= 0x2028 && c <= 0x202f) || // line / paragraph separators, bidi embeddings and overrides
    (c >= 0x205f && c <= 0x206f) || // math space, invisible operators, bidi isolates
    c === 0x3000 || c === 0x3164 || c === 0xfeff || c === 0xffa0 ||
    (c >= 0xd800 && c <= 0xdfff) || // a lone surrogate (a pair was combined by the caller)
    (c >= 0xe000 && c <= 0xf8ff) || // private use
    (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) === 0xfffe || // noncharacters
    (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xe0000 && c <= 0xe0fff) || // variation selectors, tags
    (c >= 0xfff9 && c <= 0xfffb) || // interlinear annotation
    c >= 0xf0000 // supplementary private use
  );
}
