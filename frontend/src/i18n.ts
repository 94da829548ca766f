// Messages in the annotator's language: English, or Japanese when the browser prefers it. The page was
// written in English and its older strings still are; every message added since exists in both.
// The notice that shows a message carries its language (lang), so a screen reader reads it right.

export type Language = "en" | "ja";

const EN = {
  taskTaken: "Another annotator took this task while you were working on it, so your answer was not added.",
  taskFull: "This task already has all the annotations it needs, so your answer was not added.",
  alreadyAnswered:
    "You have already answered this task (perhaps in another tab), so this answer was not added as a second one. To change your earlier answer, press E and open it.",
  draftKept: "Your work is kept in a draft.",
  nextTask: "Here is your next task.",
};

export type MessageKey = keyof typeof EN;

// Typed by the English keys: a message missing in Japanese does not compile.
const JA: Record<MessageKey, string> = {
  taskTaken: "作業中に別のアノテーターがこのタスクを担当したため、回答は追加されませんでした。",
  taskFull: "このタスクには必要な数の回答がすでに集まっているため、回答は追加されませんでした。",
  alreadyAnswered:
    "このタスクにはすでに回答済みです（別のタブで回答した可能性があります）。そのため、この回答は2件目としては追加されませんでした。以前の回答を変更するには、E キーを押して開いてください。",
  draftKept: "作業内容は下書きとして保存されています。",
  nextTask: "次のタスクを表示しています。",
};

const MESSAGES: Record<Language, Record<MessageKey, string>> = { en: EN, ja: JA };

export interface Localized {
  text: string;
  lang: Language;
}

/** The first of the browser's preferred languages that the page speaks; English otherwise. */
export function pageLanguage(preferred: readonly string[] = navigator.languages ?? [navigator.language]): Language {
  for (const tag of preferred) {
    const primary = tag.toLowerCase().split("-")[0];
    if (primary === "ja" || primary === "en") return primary;
  }
  return "en";
}

/** Sentences in the page's language, joined as that language writes them (Japanese needs no spaces). */
export function message(...keys: MessageKey[]): Localized {
  const lang = pageLanguage();
  return { text: keys.map((key) => MESSAGES[lang][key]).join(lang === "ja" ? "" : " "), lang };
}
