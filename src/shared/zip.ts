/**
 * A zip built in memory from named files: the access export, the tenant's offboarding export and
 * a disclosure package. Deterministic — every entry carries the given `mtime` and the same mode —
 * so the same files give the same bytes (an export can be compared, its hash recorded).
 */
import { ZipFile } from 'yazl';

export interface ZipEntry {
  readonly name: string;
  /** Text is stored as UTF-8. */
  readonly content: string | Buffer;
}

export function zipOf(files: readonly ZipEntry[], mtime: Date): Promise<Buffer> {
  const zip = new ZipFile();
  for (const f of files) {
    const bytes = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content;
    zip.addBuffer(bytes, f.name, { mtime, mode: 0o100644, compress: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.end();
  });
}
