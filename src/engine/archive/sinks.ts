/** ByteSinks over Node writables and file handles, honouring backpressure. */
import type { FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";
import { EngineError } from "../errors";
import type { ByteSink } from "./tarStream";

/** Resolves once the stream has handed the chunk on, so the caller may reuse the buffer. */
export function writableSink(stream: NodeJS.WritableStream | Writable, what: string): ByteSink {
    return {
        write: (chunk) =>
            new Promise<void>((resolve, reject) => {
                stream.write(chunk, (err) => {
                    if (err) {
                        reject(new EngineError("Io", `writing ${what}: ${err.message}`, {}, { cause: err }));
                    } else {
                        resolve();
                    }
                });
            }),
    };
}

export function fileHandleSink(fh: FileHandle, what: string): ByteSink {
    return {
        write: async (chunk) => {
            try {
                let off = 0;
                while (off < chunk.length) {
                    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
                    off += bytesWritten;
                }
            } catch (err) {
                const e = err as NodeJS.ErrnoException;
                throw new EngineError("Io", `writing ${what}: ${e.code ?? ""} ${e.message}`.trim(), { path: what }, { cause: err });
            }
        },
    };
}
