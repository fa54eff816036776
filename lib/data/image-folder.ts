// Listing the images of a folder, the one way every command does it: recursively, files whose
// extension the image readers accept, sorted by path (byte order), so the same folder always gives
// the same list and the same training pairs.
import * as fs from "node:fs";
import * as path from "node:path";

export const IMAGE_FILE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".webp", ".tif", ".tiff"];

export function isImageFile(name: string): boolean {
  return IMAGE_FILE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Every image file below `dir`, sorted by path. Throws naming the folder when it cannot be read. */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      throw new Error(`${d}: cannot list images (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && isImageFile(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
