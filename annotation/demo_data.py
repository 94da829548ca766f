"""Financial-news headlines for the demo project, written for Tessera (no downloads).

Sentences are composed from our own fragments, so the demo has a few hundred
varied tasks for sentiment classification (as in FinGPT) without shipping a
data set.
"""

import itertools
import random
from collections.abc import Iterator

COMPANIES = [
    "Northwind Bank", "Helios Energy", "Kestrel Motors", "Aster Pharmaceuticals", "Bluefin Logistics",
    "Cobalt Mining Corp", "Orchid Retail Group", "Summit Insurance", "Tanager Semiconductors", "Veridian Foods",
    "Juniper Telecom", "Harbor Real Estate Trust",
]  # fmt: skip

POSITIVE = [
    "{c} beats quarterly earnings estimates as revenue climbs {p}%",
    "{c} raises full-year guidance after strong demand in {r}",
    "{c} shares jump {p}% on record order backlog",
    "Analysts upgrade {c} to buy, citing margin expansion",
    "{c} announces a {p}% dividend increase and a new buyback",
    "{c} wins a multi-year contract with a major {r} customer",
]  # fmt: skip
NEGATIVE = [
    "{c} misses profit forecasts as costs rise {p}%",
    "{c} cuts outlook, blaming weak demand in {r}",
    "{c} shares slide {p}% after regulator opens an inquiry",
    "Rating agency downgrades {c} on rising debt",
    "{c} suspends its dividend to preserve cash",
    "{c} recalls products in {r}, taking a one-off charge",
]  # fmt: skip
NEUTRAL = [
    "{c} to report quarterly results on Thursday",
    "{c} appoints a new chief financial officer",
    "{c} completes the previously announced move of its headquarters",
    "{c} holds its annual shareholder meeting in {r}",
    "{c} confirms talks with {r} partners are ongoing",
    "{c} keeps its full-year guidance unchanged",
]  # fmt: skip
REGIONS = ["Europe", "Asia", "North America", "Latin America", "Japan", "the Middle East"]

LABEL_CONFIG = """<View>
  <Header value="How does this headline read for the company's investors?"/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single" showInline="true">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
    <Choice value="Neutral"/>
  </Choices>
</View>"""

INSTRUCTIONS = (
    "Read the headline and pick the sentiment an investor in the named company would feel. "
    "Positive: good news for the share price. Negative: bad news. Neutral: scheduled or factual news."
)


def _texts(template: str) -> list[tuple[str, str]]:
    """Every distinct (text, company) one template makes."""
    percents = range(2, 20) if "{p}" in template else [0]
    regions = REGIONS if "{r}" in template else [""]
    return sorted(
        {(template.format(c=company, p=percent, r=region), company)
         for company, percent, region in itertools.product(COMPANIES, percents, regions)}
    )  # fmt: skip


# How many distinct headlines the fragments make; the demo cannot have more tasks than this.
MAX_HEADLINES = sum(len(_texts(template)) for template in POSITIVE + NEGATIVE + NEUTRAL)


def _round_robin(queues: list) -> Iterator:
    """Items of each iterator in turn; one that runs out drops out."""
    live = list(queues)
    while live:
        for queue in list(live):
            item = next(queue, None)
            if item is None:
                live.remove(queue)
            else:
                yield item


def _tagged(texts: Iterator, sentiment: str) -> Iterator:
    for text, company in texts:
        yield text, company, sentiment


def headlines(count: int = 300, *, seed: int = 7) -> list[dict]:
    """``count`` distinct tasks: {"text", "company"} data with the template's sentiment kept in meta.

    Sentiments take turns, and within one its templates take turns, each giving its distinct
    headlines in a shuffled order, so the sentiments stay balanced until one has given all it
    has. (Drawing at random until a new text came up never ended once the count passed the
    number of headlines that exist.)
    """
    if not 0 <= count <= MAX_HEADLINES:
        raise ValueError(f"the demo makes at most {MAX_HEADLINES} distinct headlines, not {count}")
    rng = random.Random(seed)
    by_sentiment = []
    for sentiment, templates in (("Positive", POSITIVE), ("Negative", NEGATIVE), ("Neutral", NEUTRAL)):
        queues = []
        for template in templates:
            texts = _texts(template)
            rng.shuffle(texts)
            queues.append(iter(texts))
        by_sentiment.append(_tagged(_round_robin(queues), sentiment))
    return [
        {"data": {"text": text, "company": company},
         "meta": {"source": "tessera-demo", "template_sentiment": sentiment}}
        for text, company, sentiment in itertools.islice(_round_robin(by_sentiment), count)
    ]  # fmt: skip
