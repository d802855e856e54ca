/** A small seeded PRNG (mulberry32) with the pickers the tree generators need. */
export class Rng {
    private state: number;

    constructor(seed: number) {
        // Spread small consecutive seeds apart before the first draw.
        this.state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
    }

    /** A uniform 32-bit unsigned integer. */
    next(): number {
        this.state = (this.state + 0x6d2b79f5) >>> 0;
        let t = this.state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (t ^ (t >>> 14)) >>> 0;
    }

    /** A float in [0, 1). */
    float(): number {
        return this.next() / 0x1_0000_0000;
    }

    /** An integer in [lo, hi], both inclusive. */
    int(lo: number, hi: number): number {
        return lo + Math.floor(this.float() * (hi - lo + 1));
    }

    chance(p: number): boolean {
        return this.float() < p;
    }

    pick<T>(items: readonly T[]): T {
        if (items.length === 0) {
            throw new Error("Rng.pick: empty list");
        }
        return items[this.int(0, items.length - 1)]!;
    }

    /** Picks by weight: `[[value, weight], ...]`. */
    weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
        const total = items.reduce((s, [, w]) => s + w, 0);
        let r = this.float() * total;
        for (const [value, w] of items) {
            r -= w;
            if (r < 0) {
                return value;
            }
        }
        return items[items.length - 1]![0];
    }

    bytes(n: number): Buffer {
        const out = Buffer.alloc(n);
        let i = 0;
        for (; i + 4 <= n; i += 4) {
            out.writeUInt32LE(this.next(), i);
        }
        for (; i < n; i++) {
            out[i] = this.next() & 0xff;
        }
        return out;
    }
}
