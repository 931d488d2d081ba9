/** A minimal RGBA canvas, encoded with pngjs: the floor of the tensorboard-images bench. */
import { PNG } from 'pngjs';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './pixel-font.js';

export type Rgb = readonly [number, number, number];

export interface EncodedImage {
  png: Buffer;
  width: number;
  height: number;
}

export class Raster {
  readonly data: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = Buffer.alloc(width * height * 4);
    for (let i = 0; i < this.data.length; i += 4) {
      this.data[i] = background[0];
      this.data[i + 1] = background[1];
      this.data[i + 2] = background[2];
      this.data[i + 3] = 255;
    }
  }

  /** Paints one pixel, mixing `alpha` of `color` over what is there; off-canvas pixels are ignored. */
  plot(x: number, y: number, color: Rgb, alpha = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    for (let c = 0; c < 3; c++)
      this.data[i + c] = Math.round(this.data[i + c] * (1 - alpha) + color[c] * alpha);
  }

  fillRect(x: number, y: number, width: number, height: number, color: Rgb, alpha = 1): void {
    for (let dy = 0; dy < height; dy++)
      for (let dx = 0; dx < width; dx++) this.plot(x + dx, y + dy, color, alpha);
  }

  /** Bresenham line between two pixel positions, both ends included. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    x0 = Math.round(x0);
    y0 = Math.round(y0);
    x1 = Math.round(x1);
    y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let error = dx + dy;
    for (;;) {
      this.plot(x0, y0, color);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * error;
      if (e2 >= dy) {
        error += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        error += dx;
        y0 += sy;
      }
    }
  }

  /** Draws `text` with its top-left corner at (x, y) in the 3x5 pixel font, magnified by `scale`. */
  text(x: number, y: number, text: string, color: Rgb, scale = 1): void {
    // Whole-pixel origin, so every glyph pixel is the same size.
    x = Math.round(x);
    y = Math.round(y);
    [...text].forEach((char, index) => {
      const left = x + index * (GLYPH_WIDTH + 1) * scale;
      const rows = glyph(char);
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (rows[row][col]) this.fillRect(left + col * scale, y + row * scale, scale, scale, color);
        }
      }
    });
  }

  toPng(): EncodedImage {
    const png = new PNG({ width: this.width, height: this.height });
    this.data.copy(png.data);
    return { png: PNG.sync.write(png), width: this.width, height: this.height };
  }
}
