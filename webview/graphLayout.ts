/**
 * A layered (Sugiyama-style) layout of the ref DAG, pure and deterministic, for thousands of
 * refs: parents above children.
 *
 *  1. Break cycles (a hostile layerscope.json could declare one the engine rejects): DFS in
 *     input order, back edges dropped.
 *  2. Longest-path layering: layer(v) = 1 + max(layer(parents)), roots on layer 0.
 *  3. Edges spanning several layers get one dummy node per crossed layer, so they route around
 *     nodes and take part in ordering.
 *  4. Crossing reduction: barycentric ordering, alternating down and up sweeps; ties keep the
 *     previous order (determinism).
 *  5. x coordinates: each layer is pulled towards its neighbours' mean x, then the closest
 *     placement that keeps the minimum separation is found exactly by isotonic regression
 *     (pool-adjacent-violators), so nodes never overlap.
 *
 * No DOM here: tested and benchmarked in Node.
 */

export type EdgeRoleName = "parent" | "merge" | "lower" | "upper";

export interface LayoutInputNode {
    readonly id: string;
    readonly parents: readonly { readonly ref: string; readonly role: EdgeRoleName; readonly index: number }[];
}

export interface LayoutOptions {
    readonly nodeWidth: number;
    readonly nodeHeight: number;
    /** Horizontal gap between neighbouring nodes. */
    readonly gapX: number;
    /** Vertical distance between layers (from one layer's top to the next one's). */
    readonly layerGap: number;
    /** Width reserved for a dummy node (a long edge passing a layer). */
    readonly dummyWidth: number;
    readonly sweeps: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 184, nodeHeight: 46, gapX: 28, layerGap: 110, dummyWidth: 14, sweeps: 8 };

export interface LayoutNode {
    readonly id: string;
    /** Centre x, top y. */
    readonly x: number;
    readonly y: number;
    readonly layer: number;
}

export interface LayoutEdge {
    readonly from: string;
    readonly to: string;
    readonly role: EdgeRoleName;
    readonly index: number;
    /** "parent", "merge input 1", "lower", "upper". */
    readonly label: string;
    /** From the parent's bottom centre through the dummies to the child's top centre. */
    readonly points: readonly { readonly x: number; readonly y: number }[];
    /** Where the label sits: on the last segment's curve, near the child. */
    readonly labelX: number;
    readonly labelY: number;
}

export interface GraphLayout {
    readonly nodes: readonly LayoutNode[];
    readonly edges: readonly LayoutEdge[];
    readonly width: number;
    readonly height: number;
    /** Parent references to refs that are not in the graph, and edges dropped to break cycles. */
    readonly dropped: number;
    readonly layers: number;
    readonly dummies: number;
}

export function edgeLabel(role: EdgeRoleName, index: number): string {
    return role === "merge" ? `merge input ${index + 1}` : role;
}

interface Vertex {
    readonly key: number;
    readonly width: number;
    layer: number;
    /** Indices of vertices in the layer above / below. */
    readonly up: number[];
    readonly down: number[];
    order: number;
    x: number;
}

interface Link {
    readonly from: number;
    readonly to: number;
    readonly role: EdgeRoleName;
    readonly index: number;
}

export function layoutGraph(input: readonly LayoutInputNode[], options: Partial<LayoutOptions> = {}): GraphLayout {
    const opt = { ...DEFAULT_LAYOUT, ...options };
    const n = input.length;
    const indexOf = new Map<string, number>();
    input.forEach((node, i) => {
        if (!indexOf.has(node.id)) indexOf.set(node.id, i);
    });
    let dropped = 0;
    const links: Link[] = [];
    const parentsOf: number[][] = Array.from({ length: n }, () => []);
    input.forEach((node, child) => {
        if (indexOf.get(node.id) !== child) return; // a duplicate id: drawn once
        for (const p of node.parents) {
            const parent = indexOf.get(p.ref);
            if (parent === undefined || parent === child) {
                dropped++;
                continue;
            }
            links.push({ from: parent, to: child, role: p.role, index: p.index });
            parentsOf[child]!.push(parent);
        }
    });
    const kept = breakCycles(n, links);
    dropped += links.length - kept.length;
    const layerOf = longestPathLayers(n, kept);

    // Vertices: the real nodes, then dummies for long edges.
    const vertices: Vertex[] = [];
    for (let i = 0; i < n; i++) {
        vertices.push({ key: i, width: opt.nodeWidth, layer: layerOf[i]!, up: [], down: [], order: 0, x: 0 });
    }
    const chains: number[][] = [];
    for (const link of kept) {
        const chain = [link.from];
        for (let l = layerOf[link.from]! + 1; l < layerOf[link.to]!; l++) {
            vertices.push({ key: vertices.length, width: opt.dummyWidth, layer: l, up: [], down: [], order: 0, x: 0 });
            chain.push(vertices.length - 1);
        }
        chain.push(link.to);
        for (let k = 1; k < chain.length; k++) {
            vertices[chain[k - 1]!]!.down.push(chain[k]!);
            vertices[chain[k]!]!.up.push(chain[k - 1]!);
        }
        chains.push(chain);
    }
    const layers = buildLayers(vertices);
    orderLayers(vertices, layers, opt.sweeps);
    placeX(vertices, layers, opt);

    let minX = Infinity;
    let maxX = -Infinity;
    for (const v of vertices) {
        minX = Math.min(minX, v.x - v.width / 2);
        maxX = Math.max(maxX, v.x + v.width / 2);
    }
    if (!Number.isFinite(minX)) minX = maxX = 0;
    const yOf = (layer: number): number => layer * opt.layerGap;
    const nodes: LayoutNode[] = [];
    for (let i = 0; i < n; i++) {
        if (indexOf.get(input[i]!.id) !== i) continue;
        const v = vertices[i]!;
        nodes.push({ id: input[i]!.id, x: v.x - minX, y: yOf(v.layer), layer: v.layer });
    }
    const edges: LayoutEdge[] = kept.map((link, e) => {
        const chain = chains[e]!;
        const points = chain.map((vi, k) => {
            const v = vertices[vi]!;
            const top = yOf(v.layer);
            if (k === 0) return { x: v.x - minX, y: top + opt.nodeHeight };
            if (k === chain.length - 1) return { x: v.x - minX, y: top };
            return { x: v.x - minX, y: top + opt.nodeHeight / 2 };
        });
        const label = curvePoint(points[points.length - 2]!, points[points.length - 1]!, 0.72);
        return {
            from: input[link.from]!.id,
            to: input[link.to]!.id,
            role: link.role,
            index: link.index,
            label: edgeLabel(link.role, link.index),
            points,
            labelX: label.x,
            labelY: label.y,
        };
    });
    const layerCount = layers.length;
    return {
        nodes,
        edges,
        width: maxX - minX,
        height: layerCount === 0 ? 0 : yOf(layerCount - 1) + opt.nodeHeight,
        dropped,
        layers: layerCount,
        dummies: vertices.length - n,
    };
}

/**
 * The point at parameter t of the curve the renderer draws between two bend points: a cubic
 * with vertical tangents, controls at mid-height.
 */
export function curvePoint(a: { x: number; y: number }, b: { x: number; y: number }, t: number): { x: number; y: number } {
    const u = 1 - t;
    const my = (a.y + b.y) / 2;
    const w = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t] as const;
    return { x: w[0] * a.x + w[1] * a.x + w[2] * b.x + w[3] * b.x, y: w[0] * a.y + w[1] * my + w[2] * my + w[3] * b.y };
}

/** Keeps the links of a DFS forest in input order that are not back edges (iterative). */
function breakCycles(n: number, links: readonly Link[]): Link[] {
    const out: number[][] = Array.from({ length: n }, () => []);
    links.forEach((l, i) => out[l.from]!.push(i));
    const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
    const back = new Uint8Array(links.length);
    for (let root = 0; root < n; root++) {
        if (state[root] !== 0) continue;
        const stack: [number, number][] = [[root, 0]];
        state[root] = 1;
        while (stack.length > 0) {
            const top = stack[stack.length - 1]!;
            const [v, k] = top;
            if (k >= out[v]!.length) {
                state[v] = 2;
                stack.pop();
                continue;
            }
            top[1] = k + 1;
            const li = out[v]![k]!;
            const w = links[li]!.to;
            if (state[w] === 1) back[li] = 1;
            else if (state[w] === 0) {
                state[w] = 1;
                stack.push([w, 0]);
            }
        }
    }
    return links.filter((_, i) => back[i] === 0);
}

/** Longest path from the roots (Kahn's order over an acyclic link set). */
function longestPathLayers(n: number, links: readonly Link[]): number[] {
    const out: number[][] = Array.from({ length: n }, () => []);
    const indeg = new Int32Array(n);
    for (const l of links) {
        out[l.from]!.push(l.to);
        indeg[l.to]!++;
    }
    const layer = new Array<number>(n).fill(0);
    const queue: number[] = [];
    for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
    for (let head = 0; head < queue.length; head++) {
        const v = queue[head]!;
        for (const w of out[v]!) {
            layer[w] = Math.max(layer[w]!, layer[v]! + 1);
            if (--indeg[w]! === 0) queue.push(w);
        }
    }
    return layer;
}

function buildLayers(vertices: Vertex[]): number[][] {
    const layers: number[][] = [];
    for (const v of vertices) (layers[v.layer] ??= []).push(v.key);
    for (let l = 0; l < layers.length; l++) layers[l] ??= [];
    return layers;
}

function setOrder(vertices: Vertex[], layer: readonly number[]): void {
    layer.forEach((vi, i) => (vertices[vi]!.order = i));
}

/**
 * Initial order: a DFS from the roots in input order, so a chain's members line up; then
 * barycentric sweeps, keeping the ordering with the fewest crossings seen.
 */
function orderLayers(vertices: Vertex[], layers: number[][], sweeps: number): void {
    const seen = new Uint8Array(vertices.length);
    const rank = new Int32Array(vertices.length);
    let next = 0;
    const visit = (root: number): void => {
        const stack = [root];
        while (stack.length > 0) {
            const v = stack.pop()!;
            if (seen[v]) continue;
            seen[v] = 1;
            rank[v] = next++;
            const down = vertices[v]!.down;
            for (let k = down.length - 1; k >= 0; k--) if (!seen[down[k]!]) stack.push(down[k]!);
        }
    };
    for (const v of vertices) if (v.up.length === 0) visit(v.key);
    for (const v of vertices) if (!seen[v.key]) visit(v.key);
    for (const layer of layers) {
        layer.sort((a, b) => rank[a]! - rank[b]!);
        setOrder(vertices, layer);
    }
    let best = layers.map((l) => [...l]);
    let bestCrossings = crossings(vertices, layers);
    const bary = new Float64Array(vertices.length);
    for (let s = 0; s < sweeps && bestCrossings > 0; s++) {
        const down = s % 2 === 0;
        for (let k = 1; k < layers.length; k++) {
            const layer = layers[down ? k : layers.length - 1 - k]!;
            for (const vi of layer) {
                const v = vertices[vi]!;
                const ns = down ? v.up : v.down;
                if (ns.length === 0) {
                    bary[vi] = v.order;
                    continue;
                }
                let sum = 0;
                for (const w of ns) sum += vertices[w]!.order;
                bary[vi] = sum / ns.length;
            }
            layer.sort((a, b) => bary[a]! - bary[b]! || vertices[a]!.order - vertices[b]!.order);
            setOrder(vertices, layer);
        }
        const c = crossings(vertices, layers);
        if (c < bestCrossings) {
            bestCrossings = c;
            best = layers.map((l) => [...l]);
        }
    }
    best.forEach((layer, l) => {
        layers[l] = layer;
        setOrder(vertices, layer);
    });
}

/**
 * Crossings between consecutive layers: edges taken in (source order, target order) order, each
 * crossing every earlier edge with a greater target (counted with a Fenwick tree).
 */
export function crossings(vertices: readonly { order: number; down: readonly number[] }[], layers: readonly (readonly number[])[]): number {
    let total = 0;
    let targets = new Int32Array(16);
    for (let l = 0; l + 1 < layers.length; l++) {
        const size = layers[l + 1]!.length;
        const tree = new Int32Array(size + 1);
        let inserted = 0;
        // NOTE: a layer's array is kept in `order` order (setOrder), so sources come sorted.
        for (const vi of layers[l]!) {
            const down = vertices[vi]!.down;
            const m = down.length;
            if (m > targets.length) targets = new Int32Array(m * 2);
            for (let k = 0; k < m; k++) targets[k] = vertices[down[k]!]!.order;
            if (m > 1) targets.subarray(0, m).sort();
            for (let k = 0; k < m; k++) {
                const t = targets[k]! + 1;
                let le = 0; // targets inserted so far that are <= t
                for (let i = t; i > 0; i -= i & -i) le += tree[i]!;
                total += inserted - le;
                for (let i = t; i <= size; i += i & -i) tree[i]!++;
                inserted++;
            }
        }
    }
    return total;
}

/** x placement: packed start, then passes towards neighbours' mean, each solved exactly. */
function placeX(vertices: Vertex[], layers: readonly number[][], opt: LayoutOptions): void {
    for (const layer of layers) {
        let x = 0;
        layer.forEach((vi, i) => {
            const v = vertices[vi]!;
            if (i > 0) x += vertices[layer[i - 1]!]!.width / 2 + opt.gapX + v.width / 2;
            v.x = x;
        });
    }
    const passes = 6;
    for (let p = 0; p < passes; p++) {
        const down = p % 2 === 0;
        for (let k = 0; k < layers.length; k++) {
            const layer = layers[down ? k : layers.length - 1 - k]!;
            const desired = layer.map((vi) => {
                const v = vertices[vi]!;
                const ns = down ? v.up : v.down;
                const other = down ? v.down : v.up;
                const use = ns.length > 0 ? ns : other;
                if (use.length === 0) return v.x;
                let sum = 0;
                for (const w of use) sum += vertices[w]!.x;
                return sum / use.length;
            });
            const xs = separate(desired, layer.map((vi) => vertices[vi]!.width), opt.gapX);
            layer.forEach((vi, i) => (vertices[vi]!.x = xs[i]!));
        }
    }
}

/**
 * The x closest (least squares) to `desired` with x[i+1] - x[i] >= (w[i] + w[i+1]) / 2 + gap:
 * shift out the separations, and the problem becomes isotonic regression, solved by
 * pool-adjacent-violators in linear time.
 */
export function separate(desired: readonly number[], widths: readonly number[], gap: number): number[] {
    const n = desired.length;
    const offset = new Float64Array(n);
    for (let i = 1; i < n; i++) offset[i] = offset[i - 1]! + widths[i - 1]! / 2 + gap + widths[i]! / 2;
    const means: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < n; i++) {
        let mean = desired[i]! - offset[i]!;
        let count = 1;
        while (means.length > 0 && means[means.length - 1]! > mean) {
            const m = means.pop()!;
            const c = counts.pop()!;
            mean = (m * c + mean * count) / (c + count);
            count += c;
        }
        means.push(mean);
        counts.push(count);
    }
    const out: number[] = [];
    means.forEach((m, b) => {
        for (let k = 0; k < counts[b]!; k++) out.push(m + offset[out.length]!);
    });
    return out;
}
