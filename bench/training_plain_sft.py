"""The plain baseline of bench/training_throughput.py: SFT of a causal LM with a bare ``transformers.Trainer``,
as a user would write it without Tessera.

Each conversation is rendered with the model's chat template and tokenized, cut at --max-length; batches
are padded to their longest row (``DataCollatorForLanguageModeling``, labels -100 on padding); the loss is
on every token, as the runner's SFT is. No packing unless --packing (then rows are concatenated, with EOS
between them, and cut into blocks of --max-length: the classic "wrapped" packing). No checkpoint is saved.

It writes, to --metrics, one JSON line per log (time, step, input tokens seen) and the Trainer's closing
summary, the same as the runner's metrics.jsonl, so the bench reads both alike.

    python bench/training_plain_sft.py --model DIR --train train.jsonl --metrics out.jsonl --max-steps 20
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--logging-steps", type=int, default=5)
    parser.add_argument("--packing", action="store_true")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (GPU).")
    args = parser.parse_args()

    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    cuda = args.device == "cuda"
    model = AutoModelForCausalLM.from_pretrained(
        args.model,
        local_files_only=True,
        attn_implementation="sdpa",
        # fp32 weights with bf16 autocast on a GPU (TrainingArguments.bf16), as the runner loads them.
        dtype=torch.float32,
    )
    rows = [json.loads(line) for line in args.train.read_text(encoding="utf-8").splitlines() if line.strip()]
    # return_dict=False: one list of token ids per conversation (the stubs type every return shape).
    encoded: list[list[int]] = [
        tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=False)  # type: ignore[misc]
        for row in rows
    ]
    if args.packing:
        stream: list[int] = []
        for ids in encoded:
            stream += [*ids, tokenizer.eos_token_id]
        blocks = [stream[i : i + args.max_length] for i in range(0, len(stream), args.max_length)]
        encoded = [block for block in blocks if len(block) == args.max_length] or blocks
    else:
        encoded = [ids[: args.max_length] for ids in encoded]
    dataset = Dataset.from_dict({"input_ids": encoded})

    class Lines(TrainerCallback):
        def on_log(  # type: ignore[override]  # the Trainer passes logs by keyword, as named here
            self, targs: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            row = {
                "time": time.time(),
                "step": state.global_step,
                "input_tokens_seen": state.num_input_tokens_seen,
            }
            row.update({k: v for k, v in (logs or {}).items() if k != "num_input_tokens_seen"})
            with args.metrics.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")

    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(args.output),
            max_steps=args.max_steps,
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            logging_steps=args.logging_steps,
            logging_first_step=True,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            use_cpu=not cuda,
            bf16=cuda,
            torch_compile=args.compile,
            dataloader_num_workers=0,
            include_num_input_tokens_seen="non_padding",
            seed=42,
        ),
        train_dataset=dataset,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        callbacks=[Lines()],
    )
    trainer.train()


if __name__ == "__main__":
    main()
