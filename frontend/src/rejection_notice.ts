// The notice above a task that a reviewer sent back to its annotator: who rejected it and why, in the
// reviewer's own words (always as text, never as HTML), and that saving the corrected answer returns
// it to review. The queue (/next) hands such a task back first, with `rejection`; the page then edits
// the annotator's existing annotation (PATCH), as a correction from "Earlier" does.

import { el, replaceChildren } from "./dom";
import { type Language, pageLanguage } from "./i18n";
import type { Annotation, Region, Task } from "./types";

export interface Rejection {
  annotation: number;
  result: Region[];
  comment: string;
  reviewer: { id: number; email: string } | null;
  created_at: string;
}

const EN = {
  title: "A reviewer sent this task back to you.",
  reviewer: "Reviewer: {email}",
  reviewerUnknown: "Reviewer: (no longer a member)",
  noComment: "The reviewer left no comment.",
  howTo: "Correct your answer below and save it (Ctrl+Enter): it goes back to review.",
};
type Key = keyof typeof EN;
const JA: Record<Key, string> = {
  title: "レビュアーがこのタスクを差し戻しました。",
  reviewer: "レビュアー: {email}",
  reviewerUnknown: "レビュアー: (メンバーではなくなりました)",
  noComment: "レビュアーのコメントはありません。",
  howTo: "下で回答を修正して保存してください (Ctrl+Enter)。保存するとレビューに戻ります。",
};
const TABLES: Record<Language, Record<Key, string>> = { en: EN, ja: JA };

function say(lang: Language, key: Key, values: Record<string, string> = {}): string {
  return TABLES[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The caller's rejected annotation, as the page edits it (the submit then PATCHes it). */
export function rejectedAnnotation(task: Task, rejection: Rejection): Annotation {
  return {
    id: rejection.annotation,
    task: task.id,
    completed_by: null,
    result: rejection.result,
    was_cancelled: false,
    lead_time: null,
    parent_prediction: null,
    created_at: rejection.created_at,
    updated_at: rejection.created_at,
  };
}

/** Fill `box` with the notice for `rejection`, or hide it when there is none. */
export function renderRejection(box: HTMLElement, rejection: Rejection | null): void {
  if (!rejection) {
    replaceChildren(box);
    box.hidden = true;
    return;
  }
  const lang = pageLanguage();
  const comment = rejection.comment.trim();
  replaceChildren(
    box,
    el("strong", { text: say(lang, "title") }),
    el("p", { className: "rejection-reviewer", text: rejection.reviewer ? say(lang, "reviewer", { email: rejection.reviewer.email }) : say(lang, "reviewerUnknown") }),
    // The reviewer's words as text: markup in a comment shows as the characters it is.
    comment ? el("blockquote", { className: "rejection-comment", text: comment }) : el("p", { text: say(lang, "noComment") }),
    el("p", { text: say(lang, "howTo") }),
  );
  box.lang = lang;
  box.hidden = false;
}
