// The part of the WebAssembly JS API that deflateStep.ts uses: lib "ES2022" and @types/node do
// not declare it (it lives in lib "dom"), and the engine is compiled without the DOM.
declare namespace WebAssembly {
    class Module {
        constructor(bytes: Uint8Array);
    }
    class Instance {
        constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
        readonly exports: Record<string, unknown>;
    }
}
