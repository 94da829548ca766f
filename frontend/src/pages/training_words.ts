// The Training tab's shared words, in English and Japanese: job statuses, recipe titles, parameter
// names and hints, metric names and model kinds. A name the tables do not know (a recipe or metric
// added on the server later) is shown as the server spells it, so nothing new is ever hidden.

import { catalogue, language } from "../locale";

const t = catalogue(
  {
    created: "Queued",
    in_progress: "Running",
    completed: "Completed",
    failed: "Failed",
    cancelled: "Cancelled",
    cancelling: "Cancelling…",
  },
  {
    created: "待機中",
    in_progress: "実行中",
    completed: "完了",
    failed: "失敗",
    cancelled: "キャンセル済み",
    cancelling: "キャンセルしています…",
  },
);

type StatusKey = Parameters<typeof t>[0];

export function statusText(status: string, cancelRequested = false): string {
  if (cancelRequested && (status === "created" || status === "in_progress")) return t("cancelling");
  return ["created", "in_progress", "completed", "failed", "cancelled"].includes(status) ? t(status as StatusKey) : status;
}

type Words = { en: string; ja: string };

const RECIPES: Record<string, { title: Words; description: Words }> = {
  text_classification: {
    title: { en: "Text classification", ja: "テキスト分類" },
    description: {
      en: "A classification head on an encoder; evaluated by accuracy, macro-F1 and a confusion matrix.",
      ja: "エンコーダーに分類ヘッドを付けて学習します。正解率・マクロ F1・混同行列で評価します。",
    },
  },
  token_classification: {
    title: { en: "Token classification (NER)", ja: "トークン分類（固有表現抽出）" },
    description: {
      en: "A tag per word on an encoder; evaluated by entity-level F1 (seqeval).",
      ja: "エンコーダーで単語ごとにタグを付けます。エンティティ単位の F1（seqeval）で評価します。",
    },
  },
  sft: {
    title: { en: "Supervised fine-tuning (chat)", ja: "教師ありファインチューニング（チャット）" },
    description: {
      en: "Full or LoRA fine-tuning of a causal LM on conversations; evaluated by perplexity.",
      ja: "会話データで因果言語モデルを全体または LoRA で微調整します。パープレキシティで評価します。",
    },
  },
  dpo: {
    title: { en: "Preference tuning (DPO)", ja: "選好チューニング（DPO）" },
    description: {
      en: "Direct preference optimisation on chosen/rejected pairs; evaluated by reward accuracy.",
      ja: "選ばれた回答と退けられた回答のペアで直接選好最適化を行います。報酬正解率で評価します。",
    },
  },
  continued_pretraining: {
    title: { en: "Continued pre-training (domain adaptation)", ja: "継続事前学習（ドメイン適応）" },
    description: {
      en: "Masked LM (encoders) or causal LM (decoders) on the project's text; evaluated by perplexity.",
      ja: "プロジェクトのテキストで、マスク言語モデル（エンコーダー）または因果言語モデル（デコーダー）を学習します。パープレキシティで評価します。",
    },
  },
  pretraining_from_scratch: {
    title: { en: "Pre-training from scratch", ja: "ゼロからの事前学習" },
    description: {
      en: "A tokenizer trained on the corpus, then a small Llama-style model; evaluated by perplexity.",
      ja: "コーパスでトークナイザーを学習し、小さな Llama 型モデルを学習します。パープレキシティで評価します。",
    },
  },
};

export function recipeTitle(name: string): string {
  return RECIPES[name]?.title[language()] ?? name;
}

/** The recipe's description: the server's (English) text in English, ours in Japanese. */
export function recipeDescription(name: string, fromServer = ""): string {
  if (language() === "en") return fromServer || RECIPES[name]?.description.en || "";
  return RECIPES[name]?.description.ja || fromServer;
}

const PARAMS: Record<string, { label: Words; hint: Words }> = {
  learning_rate: { label: { en: "Learning rate", ja: "学習率" }, hint: { en: "Peak learning rate (AdamW).", ja: "最大学習率（AdamW）。" } },
  epochs: { label: { en: "Epochs", ja: "エポック数" }, hint: { en: "Passes over the training split.", ja: "学習用分割を何周するか。" } },
  max_steps: { label: { en: "Maximum steps", ja: "最大ステップ数" }, hint: { en: "Stop after this many optimizer steps (overrides epochs).", ja: "このステップ数で止めます（エポック数より優先）。" } },
  batch_size: { label: { en: "Batch size", ja: "バッチサイズ" }, hint: { en: "Examples per device per step.", ja: "1 ステップ・1 デバイスあたりの例の数。" } },
  gradient_accumulation_steps: { label: { en: "Gradient accumulation", ja: "勾配累積" }, hint: { en: "Steps summed per update.", ja: "1 回の更新でまとめるステップ数。" } },
  max_length: { label: { en: "Maximum length", ja: "最大長" }, hint: { en: "Tokens per example; longer are cut.", ja: "1 例あたりのトークン数。長いものは切り詰めます。" } },
  warmup_ratio: { label: { en: "Warm-up ratio", ja: "ウォームアップ比率" }, hint: { en: "Share of steps warming up.", ja: "ウォームアップに使うステップの割合。" } },
  weight_decay: { label: { en: "Weight decay", ja: "重み減衰" }, hint: { en: "AdamW weight decay.", ja: "AdamW の重み減衰。" } },
  seed: { label: { en: "Seed", ja: "シード" }, hint: { en: "Seeds data order and initialisation.", ja: "データの順序と初期化のシード。" } },
  logging_steps: { label: { en: "Logging interval", ja: "記録間隔" }, hint: { en: "Steps between metric lines.", ja: "指標を記録するステップ間隔。" } },
  save_steps: { label: { en: "Checkpoint interval", ja: "チェックポイント間隔" }, hint: { en: "Steps between checkpoints.", ja: "チェックポイントを保存するステップ間隔。" } },
  save_total_limit: { label: { en: "Checkpoints kept", ja: "保持するチェックポイント数" }, hint: { en: "Checkpoints kept; older ones are removed.", ja: "保持する数。古いものから削除します。" } },
  packing: { label: { en: "Packing", ja: "パッキング" }, hint: { en: "Pack several conversations into each sequence. Pays with flash-attention on a GPU only; off, batches hold conversations of similar lengths.", ja: "複数の会話を 1 つの系列に詰めます。GPU の flash-attention でのみ効果があります。オフのときは長さの近い会話をまとめてバッチにします。" } },
  lora: { label: { en: "LoRA adapter", ja: "LoRA アダプター" }, hint: { en: "Train a LoRA adapter instead of every weight.", ja: "すべての重みではなく LoRA アダプターを学習します。" } },
  r: { label: { en: "Rank", ja: "ランク" }, hint: { en: "The adapter's rank.", ja: "アダプターのランク。" } },
  alpha: { label: { en: "Alpha", ja: "アルファ" }, hint: { en: "Scaling: the update is multiplied by alpha / r.", ja: "スケーリング: 更新に alpha / r を掛けます。" } },
  dropout: { label: { en: "Dropout", ja: "ドロップアウト" }, hint: { en: "Dropout on the adapter's input.", ja: "アダプター入力のドロップアウト。" } },
  beta: { label: { en: "Beta", ja: "ベータ" }, hint: { en: "How far from the reference model it may go.", ja: "参照モデルからどこまで離れてよいか。" } },
  mlm_probability: { label: { en: "Masking probability", ja: "マスク確率" }, hint: { en: "Share of tokens masked (encoders only).", ja: "マスクするトークンの割合（エンコーダーのみ）。" } },
  vocab_size: { label: { en: "Vocabulary size", ja: "語彙サイズ" }, hint: { en: "The BPE tokenizer's vocabulary.", ja: "BPE トークナイザーの語彙数。" } },
  hidden_size: { label: { en: "Hidden size", ja: "隠れ層の幅" }, hint: { en: "Width of the model.", ja: "モデルの幅。" } },
  num_layers: { label: { en: "Layers", ja: "層の数" }, hint: { en: "Transformer blocks.", ja: "Transformer ブロックの数。" } },
  num_heads: { label: { en: "Attention heads", ja: "アテンションヘッド数" }, hint: { en: "Attention heads; must divide the hidden size.", ja: "アテンションヘッドの数。隠れ層の幅を割り切る必要があります。" } },
  intermediate_size: { label: { en: "MLP width", ja: "MLP の幅" }, hint: { en: "By default about 8/3 of the hidden size (Llama).", ja: "既定では隠れ層の幅の約 8/3（Llama）。" } },
};

export function paramLabel(name: string): string {
  return PARAMS[name]?.label[language()] ?? name.replace(/_/g, " ");
}

/** A parameter's hint: the server's own (recipe-specific, English) in English, ours in Japanese. */
export function paramHint(name: string, fromServer = ""): string {
  if (language() === "en") return fromServer || PARAMS[name]?.hint.en || "";
  return PARAMS[name]?.hint.ja || fromServer;
}

const METRICS: Record<string, Words> = {
  loss: { en: "Loss", ja: "損失" },
  train_loss: { en: "Training loss", ja: "学習損失" },
  eval_loss: { en: "Validation loss", ja: "検証損失" },
  learning_rate: { en: "Learning rate", ja: "学習率" },
  grad_norm: { en: "Gradient norm", ja: "勾配ノルム" },
  tokens_per_second: { en: "Tokens per second", ja: "トークン/秒" },
  samples_per_second: { en: "Samples per second", ja: "サンプル/秒" },
  mfu: { en: "MFU", ja: "MFU" },
  device_memory_bytes: { en: "Device memory", ja: "デバイスメモリ" },
  epoch: { en: "Epoch", ja: "エポック" },
  accuracy: { en: "Accuracy", ja: "正解率" },
  macro_f1: { en: "Macro-F1", ja: "マクロ F1" },
  majority_baseline_accuracy: { en: "Majority baseline", ja: "多数派ベースライン" },
  majority_baseline: { en: "Majority baseline", ja: "多数派ベースライン" },
  majority_label: { en: "Majority label", ja: "多数派ラベル" },
  rows: { en: "Test rows", ja: "テスト行数" },
  entity_f1: { en: "Entity F1", ja: "エンティティ F1" },
  entity_precision: { en: "Entity precision", ja: "エンティティ適合率" },
  entity_recall: { en: "Entity recall", ja: "エンティティ再現率" },
  token_accuracy: { en: "Token accuracy", ja: "トークン正解率" },
  perplexity: { en: "Perplexity", ja: "パープレキシティ" },
  reward_accuracy: { en: "Reward accuracy", ja: "報酬正解率" },
  reward_margin: { en: "Reward margin", ja: "報酬マージン" },
  split: { en: "Evaluated on", ja: "評価した分割" },
};

export function metricName(name: string): string {
  return METRICS[name]?.[language()] ?? name;
}

const KINDS: Record<string, Words> = {
  sequence_classification: { en: "Sequence classification", ja: "系列分類" },
  token_classification: { en: "Token classification", ja: "トークン分類" },
  causal_lm: { en: "Causal LM", ja: "因果言語モデル" },
  masked_lm: { en: "Masked LM", ja: "マスク言語モデル" },
  encoder: { en: "Encoder", ja: "エンコーダー" },
};

export function kindName(kind: string): string {
  return KINDS[kind]?.[language()] ?? kind;
}
