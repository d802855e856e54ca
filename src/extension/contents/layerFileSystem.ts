/**
 * The read-only FileSystemProvider of the `layerscope:` scheme (URI format: layerUri.ts). Every
 * call goes to the ContentsService; engine errors become FileSystemErrors by code, with the
 * engine's message (VS Code shows it in the editor or a notification).
 */
import * as vscode from "vscode";
import { isEngineError } from "../../engine";
import type { ContentsService, ViewEntry } from "./contentsService";
import { formatLayerUri, LAYER_SCHEME, type LayerLocation, parseLayerUri } from "./layerUri";

export function toUri(loc: LayerLocation): vscode.Uri {
    const { authority, path } = formatLayerUri(loc);
    return vscode.Uri.from({ scheme: LAYER_SCHEME, authority, path });
}

export function fromUri(uri: vscode.Uri): LayerLocation {
    return parseLayerUri(uri.authority, uri.path);
}

export class LayerFileSystem implements vscode.FileSystemProvider {
    // Snapshots are immutable and blobs content-addressed: what a URI shows never changes.
    private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
    readonly onDidChangeFile = this.changed.event;

    constructor(
        private readonly service: ContentsService,
        /** layerscope.maxOpenFileSize, read at each readFile. */
        private readonly maxBytes: () => number,
    ) {}

    watch(): vscode.Disposable {
        return new vscode.Disposable(() => undefined);
    }

    /**
     * A symbolic link is SymbolicLink | File: opening it reads its target (resolved in the ref's
     * merged view); a link to a folder is not expanded here (browse its target instead).
     */
    async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
        const entry = await this.call(uri, (loc) => this.service.stat(loc));
        return toFileStat(entry);
    }

    async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
        const entries = await this.call(uri, (loc) => this.service.list(loc));
        return entries.map((e) => [e.type === "absent" ? "" : e.name, fileType(e)]);
    }

    async readFile(uri: vscode.Uri): Promise<Uint8Array> {
        return this.call(uri, (loc) => this.service.readFile(loc, this.maxBytes()));
    }

    createDirectory(uri: vscode.Uri): never {
        throw readOnly(uri);
    }

    writeFile(uri: vscode.Uri): never {
        throw readOnly(uri);
    }

    delete(uri: vscode.Uri): never {
        throw readOnly(uri);
    }

    rename(uri: vscode.Uri): never {
        throw readOnly(uri);
    }

    private async call<T>(uri: vscode.Uri, body: (loc: LayerLocation) => Promise<T>): Promise<T> {
        try {
            await this.service.settled();
            return await body(fromUri(uri));
        } catch (err) {
            throw toFileSystemError(err, uri);
        }
    }

    dispose(): void {
        this.changed.dispose();
    }
}

function readOnly(uri: vscode.Uri): vscode.FileSystemError {
    return vscode.FileSystemError.NoPermissions(`${uri.path}: layers are read only; use Save File As… to extract a file`);
}

export function toFileSystemError(err: unknown, uri: vscode.Uri): Error {
    if (err instanceof vscode.FileSystemError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (!isEngineError(err)) return vscode.FileSystemError.Unavailable(message);
    switch (err.code) {
        case "NotFound":
            return vscode.FileSystemError.FileNotFound(message);
        case "PermissionDenied":
            return vscode.FileSystemError.NoPermissions(message);
        case "InvalidArgument":
            if (err.data.type === "dir") return vscode.FileSystemError.FileIsADirectory(message);
            if (/not a directory/.test(message)) return vscode.FileSystemError.FileNotADirectory(message);
            return vscode.FileSystemError.Unavailable(message);
        default:
            return vscode.FileSystemError.Unavailable(`${message}${uri.scheme === LAYER_SCHEME ? "" : ` (${uri.toString()})`}`);
    }
}

export function fileType(e: ViewEntry): vscode.FileType {
    switch (e.type) {
        case "absent":
        case "file":
        case "hardlink":
            return vscode.FileType.File;
        case "dir":
            return vscode.FileType.Directory;
        case "symlink":
            return vscode.FileType.SymbolicLink | vscode.FileType.File;
        case "whiteout":
            return vscode.FileType.File;
        default:
            return vscode.FileType.Unknown;
    }
}

function toFileStat(e: ViewEntry): vscode.FileStat {
    if (e.type === "absent") {
        return { type: e.path === "/" ? vscode.FileType.Directory : vscode.FileType.File, ctime: 0, mtime: 0, size: 0, permissions: vscode.FilePermission.Readonly };
    }
    return { type: fileType(e), ctime: e.mtimeMs, mtime: e.mtimeMs, size: e.size, permissions: vscode.FilePermission.Readonly };
}
