/**
 * Every notification Layerscope shows goes through here: messages, progress titles and
 * progress messages carry names, paths, ref ids and engine errors that come from trees, tars,
 * images and databases, and VS Code reads `[text](command:…)` in a notification as a link that
 * runs the command when clicked. `notificationText` keeps such text plain (and shows control and
 * bidi characters as escapes). test/unit/displayText.test.ts checks that no other file calls
 * these APIs.
 */
import * as vscode from "vscode";
import { notificationText } from "../display/displayText";

export function showInfo<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return vscode.window.showInformationMessage(notificationText(message), ...items);
}

export function showError<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return vscode.window.showErrorMessage(notificationText(message), ...items);
}

export interface ProgressReport {
    readonly message?: string;
    readonly increment?: number;
}

/** A cancellable (unless told) progress notification; `title` and every message are kept plain. */
export function withProgressNotification<R>(
    title: string,
    cancellable: boolean,
    task: (report: (r: ProgressReport) => void, token: vscode.CancellationToken) => Thenable<R>,
): Thenable<R> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: notificationText(title), cancellable }, (progress, token) =>
        task((r) => progress.report(r.message === undefined ? r : { ...r, message: notificationText(r.message) }), token),
    );
}
