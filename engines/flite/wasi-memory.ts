/**
 * A minimal WASI preview1 host for running a WASI command against an in-memory folder.
 * Only the calls Flite imports are provided. Unlike node:wasi, the argument list is read when
 * the command starts, so an instance made ahead of time can be given its argv later.
 */

const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_INVAL = 28;
const ERRNO_NOENT = 44;

const FILETYPE_CHARACTER_DEVICE = 2;
const FILETYPE_DIRECTORY = 3;
const FILETYPE_REGULAR_FILE = 4;

const OFLAGS_CREAT = 1;
const OFLAGS_TRUNC = 8;

/** Thrown by proc_exit to unwind out of `_start`. */
class ProcExit {
  constructor(readonly code: number) {}
}

class MemoryFile {
  data = new Uint8Array(0);
  size = 0;

  write(at: number, bytes: Uint8Array): void {
    const end = at + bytes.length;
    if (end > this.data.length) {
      const grown = new Uint8Array(Math.max(end, this.data.length * 2, 4096));
      grown.set(this.data.subarray(0, this.size));
      this.data = grown;
    }
    this.data.set(bytes, at);
    this.size = Math.max(this.size, end);
  }

  contents(): Uint8Array {
    return this.data.slice(0, this.size);
  }
}

interface OpenFile {
  kind: "stdio" | "dir" | "file";
  file?: MemoryFile;
  position: number;
}

export class MemoryWasi {
  /** argv for the next `run`. */
  args: string[] = [];
  /** Files in the preopened folder (`/work`), by name. */
  readonly files = new Map<string, MemoryFile>();
  readonly stderr: string[] = [];
  private memory?: WebAssembly.Memory;
  private fds = new Map<number, OpenFile>();
  private readonly dirName = "/work";

  constructor() {
    this.resetFds();
  }

  writeFile(name: string, bytes: Uint8Array): void {
    const file = new MemoryFile();
    file.write(0, bytes);
    this.files.set(name, file);
  }

  readFile(name: string): Uint8Array | undefined {
    return this.files.get(name)?.contents();
  }

  /** Runs the instance's `_start`; returns the exit code. */
  run(instance: WebAssembly.Instance): number {
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.resetFds();
    try {
      (instance.exports._start as () => void)();
      return 0;
    } catch (err) {
      if (err instanceof ProcExit) return err.code;
      throw err;
    }
  }

  private resetFds(): void {
    this.fds = new Map([
      [0, { kind: "stdio", position: 0 }],
      [1, { kind: "stdio", position: 0 }],
      [2, { kind: "stdio", position: 0 }],
      [3, { kind: "dir", position: 0 }],
    ]);
  }

  private view(): DataView {
    return new DataView(this.memory!.buffer);
  }

  private bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory!.buffer, ptr, len);
  }

  private iovecs(iovs: number, count: number): Uint8Array[] {
    const view = this.view();
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      out.push(this.bytes(view.getUint32(iovs + i * 8, true), view.getUint32(iovs + i * 8 + 4, true)));
    }
    return out;
  }

  /** The `wasi_snapshot_preview1` import object. */
  imports(): WebAssembly.Imports {
    const encoder = new TextEncoder();
    const wasi = {
      args_sizes_get: (argcPtr: number, bufSizePtr: number) => {
        const view = this.view();
        view.setUint32(argcPtr, this.args.length, true);
        view.setUint32(
          bufSizePtr,
          this.args.reduce((n, a) => n + encoder.encode(a).length + 1, 0),
          true,
        );
        return ERRNO_SUCCESS;
      },
      args_get: (argvPtr: number, bufPtr: number) => {
        const view = this.view();
        let at = bufPtr;
        this.args.forEach((arg, i) => {
          view.setUint32(argvPtr + i * 4, at, true);
          const bytes = encoder.encode(`${arg}\0`);
          this.bytes(at, bytes.length).set(bytes);
          at += bytes.length;
        });
        return ERRNO_SUCCESS;
      },
      clock_time_get: (_id: number, _precision: bigint, timePtr: number) => {
        this.view().setBigUint64(timePtr, process.hrtime.bigint(), true);
        return ERRNO_SUCCESS;
      },
      fd_close: (fd: number) => (this.fds.delete(fd) ? ERRNO_SUCCESS : ERRNO_BADF),
      fd_fdstat_get: (fd: number, ptr: number) => {
        const open = this.fds.get(fd);
        if (!open) return ERRNO_BADF;
        const view = this.view();
        const type = open.kind === "stdio" ? FILETYPE_CHARACTER_DEVICE : open.kind === "dir" ? FILETYPE_DIRECTORY : FILETYPE_REGULAR_FILE;
        view.setUint8(ptr, type);
        view.setUint16(ptr + 2, 0, true);
        view.setBigUint64(ptr + 8, 0xffffffffn, true);
        view.setBigUint64(ptr + 16, 0xffffffffn, true);
        return ERRNO_SUCCESS;
      },
      fd_fdstat_set_flags: () => ERRNO_SUCCESS,
      fd_prestat_get: (fd: number, ptr: number) => {
        if (fd !== 3) return ERRNO_BADF;
        const view = this.view();
        view.setUint8(ptr, 0);
        view.setUint32(ptr + 4, encoder.encode(this.dirName).length, true);
        return ERRNO_SUCCESS;
      },
      fd_prestat_dir_name: (fd: number, pathPtr: number, len: number) => {
        if (fd !== 3) return ERRNO_BADF;
        this.bytes(pathPtr, len).set(encoder.encode(this.dirName).subarray(0, len));
        return ERRNO_SUCCESS;
      },
      fd_read: (fd: number, iovs: number, count: number, nreadPtr: number) => {
        const open = this.fds.get(fd);
        if (!open) return ERRNO_BADF;
        let total = 0;
        if (open.file) {
          for (const buf of this.iovecs(iovs, count)) {
            const n = Math.max(0, Math.min(buf.length, open.file.size - open.position));
            buf.set(open.file.data.subarray(open.position, open.position + n));
            open.position += n;
            total += n;
            if (n < buf.length) break;
          }
        }
        this.view().setUint32(nreadPtr, total, true);
        return ERRNO_SUCCESS;
      },
      fd_write: (fd: number, iovs: number, count: number, nwrittenPtr: number) => {
        const open = this.fds.get(fd);
        if (!open) return ERRNO_BADF;
        let total = 0;
        for (const buf of this.iovecs(iovs, count)) {
          if (open.file) {
            open.file.write(open.position, buf);
            open.position += buf.length;
          } else if (fd === 2) {
            this.stderr.push(new TextDecoder().decode(buf));
          }
          total += buf.length;
        }
        this.view().setUint32(nwrittenPtr, total, true);
        return ERRNO_SUCCESS;
      },
      fd_seek: (fd: number, offset: bigint, whence: number, newOffsetPtr: number) => {
        const open = this.fds.get(fd);
        if (!open?.file) return ERRNO_BADF;
        const base = whence === 0 ? 0 : whence === 1 ? open.position : open.file.size;
        const next = base + Number(offset);
        if (next < 0) return ERRNO_INVAL;
        open.position = next;
        this.view().setBigUint64(newOffsetPtr, BigInt(next), true);
        return ERRNO_SUCCESS;
      },
      path_open: (
        dirFd: number,
        _dirFlags: number,
        pathPtr: number,
        pathLen: number,
        oflags: number,
        _rb: bigint,
        _ri: bigint,
        _fdFlags: number,
        fdPtr: number,
      ) => {
        if (dirFd !== 3) return ERRNO_BADF;
        const name = new TextDecoder().decode(this.bytes(pathPtr, pathLen)).replace(/^\.?\//, "");
        let file = this.files.get(name);
        if (!file || oflags & OFLAGS_TRUNC) {
          if (!file && !(oflags & OFLAGS_CREAT)) return ERRNO_NOENT;
          file = new MemoryFile();
          this.files.set(name, file);
        }
        const fd = Math.max(...this.fds.keys()) + 1;
        this.fds.set(fd, { kind: "file", file, position: 0 });
        this.view().setUint32(fdPtr, fd, true);
        return ERRNO_SUCCESS;
      },
      proc_exit: (code: number) => {
        throw new ProcExit(code);
      },
    };
    return { wasi_snapshot_preview1: wasi };
  }
}
