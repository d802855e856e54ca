/** A ModelHost for the source model in plain Node: folders, remembered sources and settings in memory. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelHost } from "../../src/extension/model/sourceModel";
import { parseSettings } from "../../src/extension/model/settings";

export class FakeHost implements ModelHost {
    readonly globalStorage = mkdtempSync(join(tmpdir(), "layerscope-global-"));
    rememberedRoots: string[] = [];
    raw: Record<string, unknown> = {};

    constructor(public folderList: string[] = []) {}

    folders(): readonly string[] {
        return this.folderList;
    }

    remembered(): readonly string[] {
        return this.rememberedRoots;
    }

    async remember(roots: readonly string[]): Promise<void> {
        this.rememberedRoots = [...roots];
    }

    settings() {
        return parseSettings((k) => this.raw[k]);
    }

    dispose(): void {
        rmSync(this.globalStorage, { recursive: true, force: true });
    }
}
