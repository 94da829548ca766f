// Messages in the annotator's language: English, or Japanese when the browser prefers it. The page was
// written in English and some of its older strings still are; every string added or changed since exists
// in both. An element that shows a message carries its language (lang), so a screen reader reads it right.
// ``{name}`` in a message is filled by ``text(key, {name: …})``.

export type Language = "en" | "ja";

const EN = {
  taskTaken: "Another annotator took this task while you were working on it, so your answer was not added.",
  taskFull: "This task already has all the annotations it needs, so your answer was not added.",
  alreadyAnswered:
    "You have already answered this task (perhaps in another tab), so this answer was not added as a second one. To change your earlier answer, press E and open it.",
  draftKept: "Your work is kept in a draft.",
  nextTask: "Here is your next task.",
  emptyRefused: "Nothing is chosen yet, and this project does not accept empty answers: choose an answer first.",
  emptyOrSkip: "To leave this task unanswered, skip it (S).",
  unsupportedConfig:
    "This project's label config uses {tags}, which this labeling page cannot show yet, so answers cannot be submitted here. Ask the project's manager to change the config.",
  requiredOne: "Answer {names} before submitting: it is required.",
  requiredMany: "Answer {names} before submitting: they are required.",
  correctionSaved: "Your correction of task #{task} is saved.",
  regionFirst: "{name} answers for a region: select a span, a shape or a labeled turn first.",
  submit: "Submit",
  saveChanges: "Save changes",
  close: "Close",
  keysTitle: "Keyboard shortcuts",
  projectKeys: "This project's keys",
  pageKeys: "Keys on this page",
  dialogKeys: "In the panels",
  instructionsTitle: "Instructions",
  noInstructions: "This project has no instructions.",
  skipTitle: "Skip this task",
  earlierTitle: "Your earlier annotations",
  keyNumbers: "pick a choice, a label or a rating in the focused part (Tab moves between parts)",
  keyNumbersHotkeys:
    "pick a choice, a label or a rating in the focused part (Tab moves between parts); a key the project sets on an option (listed above) wins over them",
  keyTab: "move between the parts of the task",
  keyTextMove: "move in the text and select (with Shift); Ctrl: by word; Home / End jump",
  keySpanDelete: "remove the selected span (and the answers attached to it)",
  keyTextEscape: "cancel the text selection",
  keyPairwise: "the left / right response is better",
  keyTurns: "previous / next turn of the conversation",
  keyTurnDelete: "remove the labels of the current turn",
  keyShapeCycle: "select the next / previous shape (after the last, on to the next part)",
  keyShapeMove: "move the selected shape (Alt: finer)",
  keyShapeResize: "resize the selected shape (right / down grow, left / up shrink)",
  keyShapeDelete: "remove the selected shape (and the answers attached to it)",
  keyPolygonClose: "close the polygon being drawn (three points or more); Esc drops it",
  keyPerRegion: "on a selected span, shape or labeled turn: go to the controls that answer for it (Esc comes back)",
  keyTextBox: "leave the text box (the other keys work again)",
  keySubmit: "submit (Enter outside text boxes)",
  keySkip: "skip, with a reason",
  keyUndo: "undo",
  keyClear: "clear the whole answer (or the model's suggestion)",
  keyEarlier: "your earlier annotations: open one to correct it",
  keyInstructions: "instructions",
  keyHelp: "this help",
  keyEscape: "close a panel; leave an earlier annotation",
  keyNext: "after the task was taken or deleted: go to the next task",
  keySkipPresets: "skip panel: fill in a common reason (Enter skips)",
  keyEarlierList: "earlier annotations: move through the list (Enter opens one)",
  keyTabPanel: "move between the buttons of an open panel (focus stays in it)",
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
  emptyRefused: "まだ何も選ばれていません。このプロジェクトでは空の回答は受け付けられないため、先に回答を選んでください。",
  emptyOrSkip: "このタスクに回答しない場合は、スキップしてください（S）。",
  unsupportedConfig:
    "このプロジェクトのラベル設定は {tags} を使っていますが、このラベリング画面ではまだ表示できないため、ここから回答を送信できません。プロジェクトの管理者に設定の変更を依頼してください。",
  requiredOne: "送信する前に {names} に回答してください（必須項目です）。",
  requiredMany: "送信する前に {names} に回答してください（いずれも必須項目です）。",
  correctionSaved: "タスク #{task} の修正を保存しました。",
  regionFirst: "{name} は領域ごとの回答です。先にスパン、図形、またはラベル付きの発話を選択してください。",
  submit: "送信",
  saveChanges: "変更を保存",
  close: "閉じる",
  keysTitle: "キーボードショートカット",
  projectKeys: "このプロジェクトのキー",
  pageKeys: "この画面のキー",
  dialogKeys: "パネル内",
  instructionsTitle: "作業説明",
  noInstructions: "このプロジェクトには作業説明がありません。",
  skipTitle: "このタスクをスキップ",
  earlierTitle: "これまでのアノテーション",
  keyNumbers: "フォーカス中の項目で選択肢・ラベル・評価を選ぶ（Tab で項目を移動）",
  keyNumbersHotkeys:
    "フォーカス中の項目で選択肢・ラベル・評価を選ぶ（Tab で項目を移動）。プロジェクトが選択肢に設定したキー（上に記載）が優先されます",
  keyTab: "タスクの項目間を移動",
  keyTextMove: "テキスト内を移動し、Shift で選択。Ctrl で単語単位、Home / End で先頭・末尾へ",
  keySpanDelete: "選択中のスパン（と、それに付いた回答）を削除",
  keyTextEscape: "テキストの選択を取り消す",
  keyPairwise: "左 / 右の回答のほうが良い",
  keyTurns: "会話の前 / 次の発話",
  keyTurnDelete: "現在の発話のラベルを削除",
  keyShapeCycle: "次 / 前の図形を選択（最後の図形の次は次の項目へ）",
  keyShapeMove: "選択中の図形を移動（Alt で細かく）",
  keyShapeResize: "選択中の図形の大きさを変更（右 / 下で拡大、左 / 上で縮小）",
  keyShapeDelete: "選択中の図形（と、それに付いた回答）を削除",
  keyPolygonClose: "描画中の多角形を閉じる（3 点以上）。Esc で破棄",
  keyPerRegion: "スパン・図形・ラベル付きの発話を選択中に、それに答える項目へ移動（Esc で戻る）",
  keyTextBox: "テキスト入力欄から出る（他のキーが再び使えます）",
  keySubmit: "送信（Enter はテキスト入力欄の外で）",
  keySkip: "理由を添えてスキップ",
  keyUndo: "元に戻す",
  keyClear: "回答（またはモデルの提案）をすべて消去",
  keyEarlier: "これまでのアノテーション：開いて修正する",
  keyInstructions: "作業説明",
  keyHelp: "このヘルプ",
  keyEscape: "パネルを閉じる。以前のアノテーションの修正をやめる",
  keyNext: "タスクが他の人に取られたか削除されたとき：次のタスクへ",
  keySkipPresets: "スキップのパネル：よくある理由を入力（Enter でスキップ）",
  keyEarlierList: "これまでのアノテーション：一覧内を移動（Enter で開く）",
  keyTabPanel: "開いているパネルのボタン間を移動（フォーカスはパネル内にとどまります）",
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

/** One message in the page's language, with ``{name}`` placeholders filled in. */
export function text(key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = MESSAGES[pageLanguage()][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** A list of names as the page's language writes one: “a”, “b” or 「a」、「b」. */
export function quoteList(names: string[]): string {
  return pageLanguage() === "ja" ? names.map((name) => `「${name}」`).join("、") : names.map((name) => `“${name}”`).join(", ");
}
