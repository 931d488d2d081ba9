/**
 * A 3x5 pixel font for tick labels and class names in summary images, so plots need no font files.
 * Lower case is drawn as upper case; characters without a glyph are drawn as '?'.
 */

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

// Five rows of three pixels each, top to bottom; '#' is ink.
const GLYPH_ROWS: Record<string, string> = {
  '0': '### #.# #.# #.# ###',
  '1': '.#. ##. .#. .#. ###',
  '2': '### ..# ### #.. ###',
  '3': '### ..# .## ..# ###',
  '4': '#.# #.# ### ..# ..#',
  '5': '### #.. ### ..# ###',
  '6': '### #.. ### #.# ###',
  '7': '### ..# ..# .#. .#.',
  '8': '### #.# ### #.# ###',
  '9': '### #.# ### ..# ###',
  A: '.#. #.# ### #.# #.#',
  B: '##. #.# ##. #.# ##.',
  C: '.## #.. #.. #.. .##',
  D: '##. #.# #.# #.# ##.',
  E: '### #.. ##. #.. ###',
  F: '### #.. ##. #.. #..',
  G: '.## #.. #.# #.# .##',
  H: '#.# #.# ### #.# #.#',
  I: '### .#. .#. .#. ###',
  J: '..# ..# ..# #.# .#.',
  K: '#.# #.# ##. #.# #.#',
  L: '#.. #.. #.. #.. ###',
  M: '#.# ### ### #.# #.#',
  N: '##. #.# #.# #.# #.#',
  O: '.#. #.# #.# #.# .#.',
  P: '##. #.# ##. #.. #..',
  Q: '.#. #.# #.# ##. .##',
  R: '##. #.# ##. #.# #.#',
  S: '.## #.. .#. ..# ##.',
  T: '### .#. .#. .#. .#.',
  U: '#.# #.# #.# #.# ###',
  V: '#.# #.# #.# #.# .#.',
  W: '#.# #.# ### ### #.#',
  X: '#.# #.# .#. #.# #.#',
  Y: '#.# #.# .#. .#. .#.',
  Z: '### ..# .#. #.. ###',
  ' ': '... ... ... ... ...',
  '-': '... ... ### ... ...',
  '+': '... .#. ### .#. ...',
  '.': '... ... ... ... .#.',
  ',': '... ... ... .#. #..',
  ':': '... .#. ... .#. ...',
  _: '... ... ... ... ###',
  '/': '..# ..# .#. #.. #..',
  '%': '#.# ..# .#. #.. #.#',
  '=': '... ### ... ### ...',
  '(': '.#. #.. #.. #.. .#.',
  ')': '.#. ..# ..# ..# .#.',
  '?': '### ..# .## ... .#.',
};

/** Each glyph as GLYPH_HEIGHT rows of GLYPH_WIDTH booleans. */
const GLYPHS = new Map<string, boolean[][]>(
  Object.entries(GLYPH_ROWS).map(([char, rows]) => [
    char,
    rows.split(' ').map((row) => [...row].map((p) => p === '#')),
  ]),
);

export function glyph(char: string): boolean[][] {
  return GLYPHS.get(char.toUpperCase()) ?? (GLYPHS.get('?') as boolean[][]);
}

/** Width in pixels of `text` at `scale`, with one pixel column between glyphs. */
export const textWidth = (text: string, scale: number): number =>
  text.length === 0 ? 0 : ([...text].length * (GLYPH_WIDTH + 1) - 1) * scale;
