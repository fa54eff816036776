// Listing the images of a folder, the one way every command does it: recursively, files whose
// extension the image readers accept, each folder's entries in English collation order (a fixed
// locale, so the order does not depend on the machine's), subfolders walked where they sort. The
// same folder always gives the same list, hence the same training pairs and the same synthetic
// benchmark (data/synthetic-hpatches was drawn from this order).
import * as fs from "node:fs";
import * as path from "node:path";

export const IMAGE_FILE_EXTENSIONS: readonly string[] = [".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".webp", ".tif", ".tiff"];

export function isImageFile(name: string): boolean {
  return IMAGE_FILE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Every image file below `dir`, in walk order (see above). Throws naming the folder when it cannot be read. */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      throw new Error(`${d}: cannot list images (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name, "en"))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && isImageFile(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}
