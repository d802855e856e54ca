/**
 * Platforms as containerd's `platforms` package spells and matches them: `os/arch[/variant]`,
 * Node's arch names normalised to Go's, and the arm64 default variant `v8`.
 */
import { EngineError } from "../errors";
import type { Platform } from "./imageTypes";

const NODE_TO_GO_ARCH: Readonly<Record<string, string>> = {
    x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", mips: "mips", mipsel: "mipsle", loong64: "loong64",
};

export function parsePlatform(text: string): Platform {
    const parts = text.split("/");
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
        throw new EngineError("InvalidArgument", `platform ${JSON.stringify(text)}: expected os/arch or os/arch/variant (e.g. linux/amd64, linux/arm/v7)`, { reason: "bad-platform" });
    }
    return normalize({ os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) });
}

export function hostPlatform(): Platform {
    const arch = NODE_TO_GO_ARCH[process.arch] ?? process.arch;
    const variant = arch === "arm" ? `v${(process.config.variables as { arm_version?: string }).arm_version ?? "7"}` : undefined;
    return normalize({ os: process.platform === "win32" ? "windows" : process.platform, architecture: arch, ...(variant ? { variant } : {}) });
}

/** containerd `platforms.Normalize`: arm64's variant v8 is the default and dropped. */
export function normalize(p: Platform): Platform {
    let { architecture, variant } = p;
    if (architecture === "aarch64") architecture = "arm64";
    if (architecture === "x86_64" || architecture === "x86-64") architecture = "amd64";
    if (architecture === "arm64" && (variant === "v8" || variant === "8")) variant = undefined;
    return { os: p.os.toLowerCase(), architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
    return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** Whether an image for `have` runs on `want` (exact os and arch; a variant, when asked, must match). */
export function platformMatches(want: Platform, have: Platform): boolean {
    const w = normalize(want);
    const h = normalize(have);
    return w.os === h.os && w.architecture === h.architecture && (!w.variant || !h.variant || w.variant === h.variant);
}
