"""Deduplication steps on items with known answers: exact after normalisation, and MinHash LSH."""

import itertools
import random
import threading
import unicodedata

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH  # type: ignore[import-untyped]

from exports.datasets.dedup import (
    BandIndex,
    Fingerprints,
    MinHashSigner,
    exact_step,
    item_text,
    near_step,
    normalize_text,
    shingle_hashes,
)
from exports.datasets.items import DatasetContext, DatasetItem
from exports.datasets.steps import StepReport
from tessera.errors import ApplicationError

CONTEXT = DatasetContext(project_id=1, controls={}, data_variables=("text",))

ARTICLE_EN = (
    "The quarterly report shows that revenue grew by twelve percent while operating costs stayed flat, "
    "and the board approved a new dividend policy that will pay shareholders twice a year starting in "
    "the spring. Analysts expect the company to keep expanding its cloud business across Asia."
)
ARTICLE_JA = (
    "東京都内の企業を対象にした調査によると、今年の夏のボーナスは前年より平均で三パーセント増えた。"
    "特に情報通信業と製造業で伸びが大きく、人手不足を背景に若手社員への配分を厚くする動きが広がっている。"
    "一方で、小売業や飲食業では据え置きや減額とした企業も少なくなかった。"
)


def items_of(*texts: str, start_id: int = 1) -> list[DatasetItem]:
    return [
        DatasetItem(task_id=start_id + index, data={"text": text}, result=[])
        for index, text in enumerate(texts)
    ]


def run(step, items, context=CONTEXT, name="dedup"):
    report = StepReport(name)
    kept = list(step(items, context, report))
    return [item.task_id for item in kept], report


def test_normalisation_folds_width_case_and_whitespace():
    assert normalize_text("  Ｈｅｌｌｏ\u3000 WORLD\n１２３ ") == "hello world 123"
    assert normalize_text("Straße") == normalize_text("STRASSE")


def test_item_text_reads_the_config_variables_in_order_then_falls_back_to_strings_by_key():
    item = DatasetItem(task_id=1, data={"b": "second", "a": "first", "n": 3, "meta": "x"}, result=[])
    assert item_text(item, DatasetContext(1, {}, ("b", "a"))) == "second\nfirst"
    assert item_text(item, DatasetContext(1, {}, ("image",))) == "first\nsecond\nx"
    dialogue = DatasetItem(task_id=2, data={"dialogue": [{"author": "A", "text": "hi"}]}, result=[])
    assert item_text(dialogue, DatasetContext(1, {}, ("dialogue",))) == '[{"author": "A", "text": "hi"}]'


def test_exact_duplicates_after_normalisation_are_removed_and_the_first_is_kept():
    items = items_of(
        "Hello  World",  # 1
        "hello world",  # 2: case and spaces
        "ＨＥＬＬＯ　ＷＯＲＬＤ",  # 3: full width
        "東京都の天気",  # 4
        "東京都の 天気",  # 5: a space is not nothing
        "東京都の天気",  # 6
        "",  # 7: no text, kept
        "",  # 8
    )
    kept, report = run(exact_step({"exact": True}), items)
    assert kept == [1, 4, 5, 7, 8]
    assert report.removed == 3
    assert report.details["examples"] == [[1, 2], [1, 3], [4, 6]]


def test_exact_compares_only_the_config_variables():
    items = [
        DatasetItem(task_id=1, data={"text": "same", "source": "a.txt"}, result=[]),
        DatasetItem(task_id=2, data={"text": "same", "source": "b.txt"}, result=[]),
    ]
    kept, _report = run(exact_step(None), items)
    assert kept == [1]
    kept, _report = run(exact_step(None), items, DatasetContext(1, {}, ()))
    assert kept == [1, 2]


def test_signatures_are_datasketch_minhash_of_the_shingle_hashes():
    texts = [ARTICLE_EN, ARTICLE_JA, "abc", "東京", "hello world, hello world"]
    signer = MinHashSigner(num_perm=128, shingle_size=5)
    # One block with texts shorter than a shingle, one without: both ways of hashing a block.
    for block in (texts, [ARTICLE_EN, ARTICLE_JA, texts[4]]):
        signatures = signer.sign(block)
        for text, signature in zip(block, signatures, strict=True):
            codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            minhash = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda value: value)
            minhash.update_batch([int(value) for value in shingle_hashes(codepoints, 5)])
            assert np.array_equal(minhash.hashvalues, signature), text


@pytest.mark.parametrize("merged", [False, True])
def test_the_band_index_finds_the_candidates_minhash_lsh_finds(merged):
    """Texts in families of near copies: every query answers what datasketch's MinHashLSH answers, from
    the items waiting to be merged and from the merged arrays alike."""
    rng = random.Random(5)
    texts = []
    for _ in range(40):
        base = "".join(rng.choice("abcdefghijklmnop 東京") for _ in range(200))
        texts.extend(edit(base, rng.sample(range(200), rng.randint(0, 6))) for _ in range(5))
    signatures = MinHashSigner(num_perm=128, shingle_size=5).sign(texts)
    index = BandIndex(threshold=0.7, num_perm=128)
    reference = MinHashLSH(threshold=0.7, num_perm=128)
    hashes = index.band_hashes(signatures)
    inserted = list(range(0, len(texts), 2))
    # In two calls, so that a bucket gains keys after it was made.
    index.insert_many(inserted[:40], hashes[inserted[:40]])
    index.insert_many(inserted[40:], hashes[inserted[40:]])
    for key in inserted:
        reference.insert(key, LeanMinHash(seed=1, hashvalues=signatures[key], scheme="affine32"))
    if merged:
        index.merge()
    found = index.block_candidates(hashes)
    answered = 0
    for row in range(len(texts)):
        expected = set(reference.query(LeanMinHash(seed=1, hashvalues=signatures[row], scheme="affine32")))
        assert found.get(row, set()) == expected, row
        answered += bool(expected - {row})
    assert answered > 100  # near copies found, not only each inserted row itself


def test_a_one_byte_fingerprint_estimates_the_jaccard_similarity_of_the_full_signatures():
    rng = random.Random(11)
    base = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(400))
    texts = [base] + [edit(base, rng.sample(range(400), count)) for count in (5, 20, 40, 80, 160)]
    signatures = MinHashSigner(num_perm=128, shingle_size=5).sign(texts)
    kept = Fingerprints(128)
    assert kept.append(signatures[0]) == 0
    for signature in signatures:
        full = np.count_nonzero(signatures[0] == signature) / 128
        assert abs(kept.similarity(0, signature) - full) <= 0.03
    assert kept.similarity(0, signatures[0]) == 1.0


def test_shingle_hashes_are_of_code_point_ngrams():
    def hashes(text):
        return shingle_hashes(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), 3)

    assert len(hashes("abcdef")) == 4
    assert hashes("xabcx")[1] == hashes("abc")[0] == hashes("zzabc")[2]
    assert hashes("abc")[0] != hashes("acb")[0]
    assert len(hashes("東京")) == 1


def edit(text: str, positions: list[int], replacement: str = "X") -> str:
    chars = list(text)
    for position in positions:
        chars[position] = replacement
    return "".join(chars)


def test_near_duplicates_are_removed_english_and_japanese():
    other_en = (
        "A storm moved over the northern coast on Tuesday, closing schools and ports, and the weather "
        "service warned that heavy rain would continue until the weekend in most of the region's valleys."
    )
    other_ja = (
        "大阪市で開かれた展示会には三日間で五万人が訪れ、新しい電気自動車や家庭用ロボットが注目を集めた。"
        "主催者は来年も同じ時期に開催する予定だと話している。"
    )
    items = items_of(
        ARTICLE_EN,  # 1
        other_en,  # 2
        ARTICLE_EN.replace("twelve", "eleven"),  # 3: one word changed, near
        ARTICLE_JA,  # 4
        edit(ARTICLE_JA, [60]),  # 5: one character changed, near
        "ＴＨＥ　" + ARTICLE_EN[4:].upper(),  # 6: exact after normalisation, near too
        other_ja,  # 7
        ARTICLE_JA[: len(ARTICLE_JA) // 2],  # 8: half of it, not near (Jaccard about 0.5)
    )
    kept, report = run(near_step(0.8), items, name="dedup_near")
    assert kept == [1, 2, 4, 7, 8]
    assert report.removed == 3
    assert report.details["threshold"] == 0.8
    assert report.details["examples"] == [[1, 3], [4, 5], [1, 6]]


def test_a_duplicate_inside_the_same_block_and_across_blocks():
    rng = random.Random(3)
    texts = ["".join(rng.choice("abcdefghij 東京大阪") for _ in range(120)) for _ in range(200)]
    texts[150] = texts[3]  # across blocks of 64
    texts[10] = texts[9]  # inside the first block
    kept, report = run(near_step(0.9), items_of(*texts, start_id=0))
    assert report.removed == 2
    assert 150 not in kept and 10 not in kept
    assert report.details["examples"] == [[9, 10], [3, 150]]


def test_near_step_is_deterministic():
    rng = random.Random(7)
    base = [ARTICLE_EN, ARTICLE_JA]
    texts = []
    for index in range(300):
        text = base[index % 2]
        texts.append(edit(text, sorted(rng.sample(range(len(text)), rng.randint(0, 12)))))
    first = run(near_step(0.7), items_of(*texts))
    second = run(near_step(0.7), items_of(*texts))
    assert first[0] == second[0]
    assert first[1].as_dict() == second[1].as_dict()
    assert first[1].removed == 300 - len(first[0]) > 0


def test_items_without_text_are_kept_by_the_near_step():
    kept, report = run(near_step(0.9), items_of("", "", ARTICLE_EN, ARTICLE_EN))
    assert kept == [1, 2, 3]
    assert report.removed == 1


@pytest.mark.parametrize("threshold", [0, 1.5, -0.1, "0.9", True, None])
def test_a_bad_threshold_names_the_dedup_field(threshold):
    with pytest.raises(ApplicationError) as error:
        near_step(threshold)
    assert error.value.field == "dedup"


def test_a_consumer_that_stops_early_leaves_no_signing_thread_behind():
    rng = random.Random(5)
    texts = ["".join(rng.choice("abcdefghij 東京大阪") for _ in range(120)) for _ in range(500)]
    before = {thread.name for thread in threading.enumerate()}
    stream = near_step(0.9)(items_of(*texts), CONTEXT, StepReport("dedup_near"))
    first = [item.task_id for item in itertools.islice(stream, 3)]
    stream.close()
    assert first == [1, 2, 3]
    assert not {thread.name for thread in threading.enumerate()} - before


def test_the_space_is_the_only_printable_whitespace():
    """normalize_text returns a printable text without doubled or outer spaces as it is: that is only
    what splitting and joining would give if no other whitespace character is printable."""
    assert [code for code in range(0x110000) if chr(code).isspace() and chr(code).isprintable()] == [0x20]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "a  b",
        " a",
        "a ",
        "a\tb",
        "a\u3000b",
        "ａ\u00a0ｂ",
        "a\u2028b",
        "x\x1fy",
        "東京 大阪",
        "ﬁ  Ⅻ",
    ],
)
def test_normalisation_equals_splitting_and_joining(text):
    assert normalize_text(text) == " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def reference_near_dedup(texts: list[str], threshold: float) -> tuple[list[int], list[list[int]]]:
    """Item by item, with datasketch's own MinHash and MinHashLSH: the kept positions and the examples."""

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    fingerprints: list[np.ndarray] = []  # by LSH key
    key_positions: list[int] = []  # by LSH key
    kept_positions: list[int] = []
    examples: list[list[int]] = []
    for position, raw in enumerate(texts):
        text = " ".join(unicodedata.normalize("NFKC", raw).casefold().split())
        if not text:
            kept_positions.append(position)
            continue
        minhash = MinHash(num_perm=128, seed=1, scheme="affine32", hashfunc=lambda value: value)
        codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        minhash.update_batch([int(value) for value in shingle_hashes(codepoints, 5)])
        signature = LeanMinHash(minhash)
        low_bytes = minhash.hashvalues.astype(np.uint8)
        duplicate_of = None
        for key in sorted(lsh.query(signature)):
            equal = np.count_nonzero(fingerprints[key] == low_bytes) / 128
            if (equal - 1 / 256) / (1 - 1 / 256) >= threshold:
                duplicate_of = key
                break
        if duplicate_of is None:
            lsh.insert(len(fingerprints), signature)
            fingerprints.append(low_bytes)
            key_positions.append(position)
            kept_positions.append(position)
        elif len(examples) < 5:
            examples.append([key_positions[duplicate_of], position])
    return kept_positions, examples


@pytest.mark.parametrize("threshold", [0.9, 0.7, 0.5])
def test_the_block_wise_near_step_equals_item_by_item_datasketch(threshold):
    """Varied input across several blocks: Japanese and English, empty and one-character texts, texts
    shorter than a shingle next to long ones, a very long text, and near copies on both sides of the
    threshold (one to forty characters changed), also inside the same block."""
    rng = random.Random(threshold)
    bases = [ARTICLE_EN, ARTICLE_JA, ARTICLE_EN * 40, "東京", "ab", "x"]
    texts: list[str] = []
    for _ in range(700):
        roll = rng.random()
        if roll < 0.05:
            texts.append(rng.choice(["", " ", "\n", "東", "ab", "abcd"]))
        elif roll < 0.5 and texts:
            source = rng.choice(texts[-300:])
            if len(source) > 10:
                source = edit(
                    source, rng.sample(range(len(source)), min(len(source) // 4, rng.randint(1, 40))), "変"
                )
            texts.append(source)
        else:
            base = rng.choice(bases)
            start = rng.randint(0, max(0, len(base) - 50))
            texts.append(base[start : start + rng.randint(1, 400)] + str(rng.randint(0, 10**6)))
    kept, report = run(near_step(threshold), items_of(*texts, start_id=0))
    expected_kept, expected_examples = reference_near_dedup(texts, threshold)
    assert kept == expected_kept
    assert report.removed == len(texts) - len(expected_kept) > 20
    assert report.details["examples"] == expected_examples
