/**
 * Engine errors carry a stable code (tests assert the code, never the message), the path or
 * object they concern, and a message written for a person: what went wrong, where, what to do.
 */
export type ErrorCode =
    | "InvalidArgument"
    | "NotFound"
    | "PermissionDenied"
    | "AlreadyExists"
    | "FailedPrecondition"
    | "Unavailable"
    | "Unsupported"
    | "ChangedWhileReading"
    | "UnsafePath"
    | "Corrupt"
    | "Canceled"
    | "Io"
    /** A limit meant to stop hostile input was reached (decompression bombs); it can be raised. */
    | "ResourceExhausted"
    | "Internal";

export interface ErrorData {
    /** The filesystem path (or object id) the error is about, when there is one. */
    readonly path?: string;
    readonly [key: string]: unknown;
}

export class EngineError extends Error {
    override readonly name = "EngineError";

    constructor(
        readonly code: ErrorCode,
        message: string,
        readonly data: ErrorData = {},
        options?: { cause?: unknown },
    ) {
        super(message, options);
    }
}

export function isEngineError(err: unknown, code?: ErrorCode): err is EngineError {
    return err instanceof EngineError && (code === undefined || err.code === code);
}

/** Maps a Node system error raised on `path` to an EngineError with a helpful message. */
export function fromSystemError(err: unknown, path: string, action: string): EngineError {
    if (err instanceof EngineError) {
        return err;
    }
    const e = err as NodeJS.ErrnoException;
    switch (e?.code) {
        case "ENOENT":
        case "ENOTDIR":
            return new EngineError("NotFound", `${path}: does not exist (while ${action})`, { path }, { cause: err });
        case "EACCES":
        case "EPERM":
            return new EngineError(
                "PermissionDenied",
                `${path}: permission denied (while ${action}); run as a user that can read it, or fix its permissions`,
                { path },
                { cause: err },
            );
        case "ELOOP":
            return new EngineError("UnsafePath", `${path}: is a symlink where a real file or directory was expected (while ${action})`, { path }, { cause: err });
        case "ENOSPC":
        case "EDQUOT":
            return new EngineError(
                "Io",
                `${path}: no space left on the filesystem (${e.code}, while ${action}); free some space (\`layerscope gc\` removes unused blobs) and run again: nothing already stored was lost`,
                { path, reason: "no-space" },
                { cause: err },
            );
        case "EIO":
            return new EngineError(
                "Io",
                `${path}: input/output error (EIO, while ${action}): the disk or filesystem failed; check the device (dmesg), then run again: nothing already stored was lost`,
                { path, reason: "io-error" },
                { cause: err },
            );
        case "EROFS":
            return new EngineError(
                "Io",
                `${path}: the filesystem is read-only (EROFS, while ${action}); choose a writable state directory (--state DIR)`,
                { path, reason: "read-only" },
                { cause: err },
            );
        case "EISDIR":
            return new EngineError("InvalidArgument", `${path}: is a directory where a file was expected (while ${action}); give the path of a file`, { path, reason: "is-directory" }, { cause: err });
        case "ABORT_ERR":
            return new EngineError("Canceled", `canceled (while ${action})`, { path }, { cause: err });
        default: {
            // Node's system errors already start with their code ("EBADF: bad file descriptor, read").
            const detail = e?.code && !String(e.message).startsWith(`${e.code}:`) ? `${e.code}: ${e.message}` : (e?.message ?? String(err));
            return new EngineError("Io", `${path}: ${detail} (while ${action})`, { path }, { cause: err });
        }
    }
}

export function assertNever(x: never, what = "value"): never {
    throw new EngineError("Internal", `unexpected ${what}: ${JSON.stringify(x)}`);
}
