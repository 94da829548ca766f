from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports: streamed project exports and, later, dataset versions"

    def ready(self) -> None:
        # Dataset formats register themselves in DATASET_FORMATS when their module is imported: import
        # them once the apps are loaded, so that a recipe's "formats" finds every one in any process.
        # Their heavy libraries (pyarrow, datasets, a tokenizer, the SDK's converter) load only when a
        # build writes.
        from exports.formats import (  # noqa: F401
            converter_formats,
            dataset_hf,
            dataset_label_studio,
            dataset_parquet,
            dataset_records,
            dpo_pairs,
            pretraining_corpus,
            rubric_scores,
            sft_chat,
            text_classification,
            token_classification,
        )
