// The launch form's estimate, as `POST /api/training-jobs/estimate` answers it: parameters (the trained
// ones when LoRA trains fewer), tokens per epoch × epochs, training FLOPs, GPU-hours on the chosen
// devices at the stated utilisation, memory per device against the device's (fits or not, and the
// parts), tokens per parameter and the server's scaling-law note. Each row carries data-estimate=<key>.

import { el } from "../dom";
import { catalogue, formatBytes, formatNumber } from "../locale";
import { formatCount, formatDecimal, formatPercent, formatScientific } from "./training_format";
import { asNumber, isRecord } from "./training_types";

const t = catalogue(
  {
    parameters: "Parameters",
    trainable: "{count} trained",
    tokens: "Tokens",
    tokensValue: "{perEpoch} per epoch × {epochs} = {total}",
    flops: "Training FLOPs",
    gpuHours: "GPU-hours",
    gpuHoursValue: "on {devices} × {device} at {utilisation} of peak; about {wall} h of wall time",
    memory: "Memory per device",
    memoryValue: "{total} of {device}",
    memoryParts: "weights {weights}, gradients {gradients}, optimizer {optimizer}, activations {activations}",
    sharded: "per GPU, the states sharded over {devices}",
    fits: "Fits",
    doesNotFit: "Does not fit",
    fitUnknown: "Device memory unknown",
    ratio: "Tokens per parameter",
    scaling: "Scaling",
  },
  {
    parameters: "パラメータ数",
    trainable: "うち学習対象 {count}",
    tokens: "トークン数",
    tokensValue: "エポックあたり {perEpoch} × {epochs} = {total}",
    flops: "学習の FLOPs",
    gpuHours: "GPU 時間",
    gpuHoursValue: "{devices} × {device}（ピークの {utilisation}）。実時間で約 {wall} 時間",
    memory: "デバイスあたりのメモリ",
    memoryValue: "{device} 中 {total}",
    memoryParts: "重み {weights}、勾配 {gradients}、オプティマイザー {optimizer}、活性化 {activations}",
    sharded: "GPU 1 枚あたり（状態を {devices} 枚に分割）",
    fits: "収まります",
    doesNotFit: "収まりません",
    fitUnknown: "デバイスのメモリは不明",
    ratio: "パラメータあたりのトークン数",
    scaling: "スケーリング",
  },
);

function row(key: string, label: string, ...value: (Node | string | null)[]): HTMLElement {
  return el("div", { className: "estimate-row", data: { estimate: key } }, el("dt", { text: label }), el("dd", {}, ...value));
}

export function estimateView(answer: Record<string, unknown>): HTMLElement {
  const number = (key: string): number => asNumber(answer[key]) ?? 0;
  const memory = isRecord(answer.memory) ? answer.memory : {};
  const bytes = (key: string): string => formatBytes(asNumber(memory[key]) ?? 0);
  const fits = memory.fits;
  const deviceBytes = asNumber(memory.device_bytes);
  const shards = asNumber(memory.sharded_over) ?? 1;
  const parameters = number("parameters");
  const trainable = number("trainable_parameters");
  const note = typeof answer.scaling_note === "string" && answer.scaling_note ? answer.scaling_note : "";
  return el(
    "dl",
    { className: "estimate" },
    row("parameters", t("parameters"), formatCount(parameters), trainable && trainable !== parameters ? el("small", { text: t("trainable", { count: formatCount(trainable) }) }) : null),
    row("tokens", t("tokens"), t("tokensValue", { perEpoch: formatCount(number("tokens_per_epoch")), epochs: formatDecimal(number("epochs"), 3), total: formatCount(number("training_tokens")) })),
    row("flops", t("flops"), formatScientific(number("flops"))),
    row(
      "gpu_hours",
      t("gpuHours"),
      el("strong", { text: formatDecimal(number("gpu_hours"), 3) }),
      el("small", { text: t("gpuHoursValue", { devices: formatNumber(number("devices")), device: String(answer.device ?? ""), utilisation: formatPercent(number("utilisation")), wall: formatDecimal(number("wall_hours"), 3) }) }),
    ),
    row(
      "memory",
      t("memory"),
      deviceBytes !== null ? t("memoryValue", { total: bytes("total_bytes"), device: formatBytes(deviceBytes) }) : bytes("total_bytes"),
      " ",
      el("span", {
        className: `fit-badge ${fits === true ? "fits" : fits === false ? "no-fit" : "unknown"}`,
        data: { fits: String(fits) },
        text: fits === true ? t("fits") : fits === false ? t("doesNotFit") : t("fitUnknown"),
      }),
      el("small", { text: t("memoryParts", { weights: bytes("weights_bytes"), gradients: bytes("gradients_bytes"), optimizer: bytes("optimizer_bytes"), activations: bytes("activations_bytes") }) }),
      shards > 1 ? el("small", { className: "sharded", text: t("sharded", { devices: formatNumber(shards) }) }) : null,
    ),
    row("tokens_per_parameter", t("ratio"), formatDecimal(number("tokens_per_parameter"), 3)),
    note ? row("scaling_note", t("scaling"), el("span", { className: "scaling-note", text: note })) : null,
  );
}
