import assert from 'node:assert/strict';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphFor, glyphInk, hasGlyph, textWidth } from '../../daemon/render/font.js';

const printable = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i));

function key(ch: string): string {
  return Array.from(glyphFor(ch)).join(',');
}

describe('render/font', () => {
  it('has a glyph for every printable ASCII character and the XRF extras', () => {
    for (const ch of [...printable, 'α', 'β', 'µ', '°', '—']) assert.ok(hasGlyph(ch), `missing ${JSON.stringify(ch)}`);
  });

  it('gives every visible ASCII character a distinct, non-empty glyph', () => {
    const seen = new Map<string, string>();
    for (const ch of printable.slice(1)) {
      const k = key(ch);
      assert.notEqual(k, key(' '), `${ch} is blank`);
      assert.ok(!seen.has(k), `${ch} looks like ${seen.get(k)}`);
      seen.set(k, ch);
    }
  });

  it('keeps glyphs inside the 5-column cell and descenders only on descender letters', () => {
    for (const ch of printable) {
      const g = glyphFor(ch);
      for (const row of g) assert.ok(row < 1 << GLYPH_WIDTH);
      const descends = g[7]! !== 0 || g[8]! !== 0;
      assert.equal(descends, 'gjpqy,;_'.includes(ch), `descender of ${ch}`);
    }
    assert.equal(GLYPH_HEIGHT, 9);
  });

  it('draws 0 and O differently (slashed zero) and 1 with a foot', () => {
    assert.notEqual(key('0'), key('O'));
    assert.ok(glyphInk(glyphFor('1'), 1, 6) && glyphInk(glyphFor('1'), 3, 6));
  });

  it('falls back to ? for unknown characters and measures text without trailing spacing', () => {
    assert.equal(key('\u2603'), key('?'));
    assert.equal(textWidth(''), 0);
    assert.equal(textWidth('A'), 5);
    assert.equal(textWidth('AB', 2), 22);
    assert.equal(textWidth('Kα'), 11, 'one column per code point, not per UTF-16 unit');
  });
});
