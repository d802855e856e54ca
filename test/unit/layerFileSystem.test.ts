/**
 * The `layerscope:` FileSystemProvider itself, with a stand-in for the `vscode` module, over a
 * real workspace: stat, readDirectory and readFile through URIs, read-only permissions, and each
 * failure as the FileSystemError VS Code expects (FileNotFound, FileIsADirectory, NoPermissions,
 * Unavailable), its message naming the path and what to do.
 */
import assert from "node:assert/strict";
import Module from "node:module";
import { after, before, describe, it } from "node:test";
import { SourceModel } from "../../src/extension/model/sourceModel";
import { ContentsService } from "../../src/extension/contents/contentsService";
import { FakeHost } from "../helpers/modelHost";
import { standardWorkspace, type WorkspaceKit } from "../helpers/workspaceKit";

class FakeFileSystemError extends Error {
    constructor(readonly code: string, message: string) {
        super(message);
    }
}
const fsError = (code: string) => (message: string) => new FakeFileSystemError(code, message);

class FakeUri {
    constructor(readonly scheme: string, readonly authority: string, readonly path: string) {}
    static from(c: { scheme: string; authority: string; path: string }): FakeUri {
        return new FakeUri(c.scheme, c.authority, c.path);
    }
    toString(): string {
        return `${this.scheme}://${this.authority}${this.path}`;
    }
}

const FileType = { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 };
const fakeVscode = {
    Uri: FakeUri,
    FileType,
    FilePermission: { Readonly: 1 },
    FileSystemError: Object.assign(FakeFileSystemError, {
        FileNotFound: fsError("FileNotFound"),
        FileIsADirectory: fsError("FileIsADirectory"),
        FileNotADirectory: fsError("FileNotADirectory"),
        NoPermissions: fsError("NoPermissions"),
        Unavailable: fsError("Unavailable"),
    }),
    EventEmitter: class {
        event = () => ({ dispose() {} });
        fire(): void {}
        dispose(): void {}
    },
    Disposable: class {
        constructor(readonly dispose: () => void) {}
    },
};

const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = M._load;
M._load = function (request: string, ...rest: unknown[]) {
    return request === "vscode" ? fakeVscode : load.call(this, request, ...rest);
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LayerFileSystem, toUri } = require("../../src/extension/contents/layerFileSystem") as typeof import("../../src/extension/contents/layerFileSystem");

describe("the layerscope: FileSystemProvider", () => {
    let kit: WorkspaceKit;
    let host: FakeHost;
    let service: ContentsService;
    let fs: InstanceType<typeof LayerFileSystem>;
    let source = "";
    const uri = (ref: string, view: "layer" | "merged" | "absent", path = "/") => toUri(service.location(source, ref, view, path)) as unknown as import("vscode").Uri;

    before(async () => {
        kit = standardWorkspace();
        host = new FakeHost([kit.dir]);
        const model = new SourceModel(host);
        await model.refresh();
        source = model.sources()[0]!.id;
        service = new ContentsService(model);
        fs = new LayerFileSystem(service, () => 4);
    });
    after(() => {
        service.dispose();
        kit.dispose();
        host.dispose();
    });

    async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
        await assert.rejects(p, (e) => e instanceof FakeFileSystemError && e.code === code && message.test(e.message));
    }

    it("stats, lists and reads through URIs, everything read only", async () => {
        const dir = await fs.stat(uri("config", "layer", "/app"));
        assert.deepEqual([dir.type, dir.permissions], [FileType.Directory, 1]);
        assert.deepEqual(await fs.readDirectory(uri("config", "layer", "/app")), [[".env", FileType.File], ["server.js", FileType.File]]);
        assert.deepEqual(await fs.readDirectory(uri("config", "merged", "/")), [["app", 2], ["bin", 2], ["etc", 2], ["usr", 2]]);
        assert.equal(Buffer.from(await fs.readFile(uri("config", "merged", "/app/server.js"))).toString(), "v2\n");
        const st = await fs.stat(uri("config", "merged", "/etc/hostname"));
        assert.deepEqual([st.type, st.size, st.mtime], [FileType.File, 4, 1700000000 * 1000]);
        assert.equal((await fs.readFile(uri("config", "absent", "/app/.env"))).length, 0);
    });

    it("maps engine errors to FileSystemErrors with the engine's message", async () => {
        await rejectsWith(fs.stat(uri("config", "merged", "/nope")), "FileNotFound", /nope/);
        await rejectsWith(fs.readFile(uri("config", "merged", "/app")), "FileIsADirectory", /directory/);
        await rejectsWith(fs.readFile(uri("config", "layer", "/usr/share/doc")), "FileNotFound", /deleted by this layer.*Open Changes/);
        await rejectsWith(fs.readFile(uri("config", "merged", "/etc/os-release")), "Unavailable", /layerscope\.maxOpenFileSize.*Save File As/);
        await rejectsWith(fs.stat(uri("nosuchref", "merged")), "FileNotFound", /nosuchref/);
        const forged = fakeVscode.Uri.from({ scheme: "layerscope", authority: "not-a-key", path: "/config/merged/etc" }) as unknown as import("vscode").Uri;
        await rejectsWith(fs.stat(forged), "Unavailable", /source key/);
        const escape = fakeVscode.Uri.from({ scheme: "layerscope", authority: uri("config", "merged").authority, path: "/config/merged/../../etc/passwd" }) as unknown as import("vscode").Uri;
        await rejectsWith(fs.readFile(escape), "Unavailable", /"\.\."/);
    });

    it("refuses every write with NoPermissions", () => {
        const u = uri("config", "merged", "/etc/hostname");
        for (const write of [() => fs.writeFile(u), () => fs.delete(u), () => fs.rename(u), () => fs.createDirectory(u)]) {
            assert.throws(write, (e) => e instanceof FakeFileSystemError && e.code === "NoPermissions" && /read only.*Save File As/.test(e.message));
        }
    });
});
