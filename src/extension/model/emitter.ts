/**
 * A minimal event emitter whose `event` has the shape of `vscode.Event`, so the source model can
 * live without importing `vscode` and be tested in plain Node.
 */
export interface Disposable {
    dispose(): void;
}

export type Event<T> = (listener: (e: T) => unknown, thisArgs?: unknown, disposables?: Disposable[]) => Disposable;

export class Emitter<T> implements Disposable {
    private listeners: ((e: T) => unknown)[] = [];

    readonly event: Event<T> = (listener, thisArgs, disposables) => {
        const bound = thisArgs === undefined ? listener : listener.bind(thisArgs);
        this.listeners.push(bound);
        const sub = {
            dispose: () => {
                this.listeners = this.listeners.filter((l) => l !== bound);
            },
        };
        disposables?.push(sub);
        return sub;
    };

    /** Calls every listener; one that throws is reported to `onListenerError` and the rest still run. */
    fire(e: T): void {
        for (const l of [...this.listeners]) {
            try {
                l(e);
            } catch (err) {
                this.onListenerError(err);
            }
        }
    }

    onListenerError: (err: unknown) => void = () => undefined;

    dispose(): void {
        this.listeners = [];
    }
}
