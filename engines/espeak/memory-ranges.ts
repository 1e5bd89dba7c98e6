/**
 * Which parts of the eSpeak module's memory a run can change, so only those are restored before
 * each run: the ranges of [0, length) outside the data files embedded in the module's memory (its table at
 * `table`, read as emscripten's `_emscripten_fs_load_embedded_files` reads it). The file system
 * serves those files from that memory and nothing writes them ("a slice of wasm memory that will
 * never change"), so restoring them (17 of espeak's 18 MB) before each run is wasted work.
 */
export function mutableRanges(memory: Uint8Array, table: number | undefined, length: number): [number, number][] {
  if (!table) return [[0, length]];
  const words = new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  const files: [number, number][] = [];
  for (let at = table; at + 12 <= memory.length && words.getUint32(at, true) !== 0; at += 12) {
    const size = words.getUint32(at + 4, true);
    const data = words.getUint32(at + 8, true);
    if (data + size > length) return [[0, length]]; // not the layout expected: restore all
    files.push([data, data + size]);
  }
  files.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let from = 0;
  for (const [start, end] of files) {
    if (start > from) out.push([from, start]);
    from = Math.max(from, end);
  }
  if (from < length) out.push([from, length]);
  return out;
}
